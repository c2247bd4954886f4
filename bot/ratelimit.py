"""Sliding-window send budgets per recipient (WeCom drops silently above 30/min or 1000/h), optionally
under app-wide budgets too (Feishu: 5/s per user and 50/s, 1000/min per app).

One process keeps the sends in memory. Several processes on one PostgreSQL share them through the
``send_slot`` table: a sender reads its recipients' recent slots (``storage/send_slots.py``), plans on
``with_history``'s copy, and writes back what the copy ``taken``."""

from __future__ import annotations

from collections import defaultdict, deque

APP = "*"
# The platform counts a send when it arrives, we count it when we reserve it; sends in flight together can
# overtake one another, so a send reserved one window after another may arrive less than a window after it.
# Channels stretch each window by this share of itself: jitter up to 1 % of a span never crosses a limit.
IN_FLIGHT_SLACK = 0.01


class RateLimiter:
    """``reserve`` either takes a slot now (returns 0) or says how many seconds to wait."""

    def __init__(self, windows: list[tuple[int, float]], app_windows: list[tuple[int, float]] | None = None,
                 slack: float = 0.0) -> None:
        # (max sends, seconds), each span stretched by ``slack`` of itself
        self.windows = sorted(((limit, span * (1 + slack)) for limit, span in windows), key=lambda w: w[1])
        self._sent: dict[str, deque[float]] = defaultdict(deque)
        self.app = RateLimiter(app_windows, slack=slack) if app_windows else None
        self.taken: list[tuple[str, float]] = []  # (key, at) reserved by a ``with_history`` copy
        self._tracks = False  # only copies list what they took (a long-lived limiter would grow forever)

    @property
    def limited(self) -> bool:
        return bool(self.windows or self.app)

    @property
    def longest(self) -> float:
        """How far back a send still counts against some budget."""
        return max([span for _, span in self.windows] + ([self.app.longest] if self.app else [0.0]))

    def with_history(self, sent: dict[str, list[float]]) -> RateLimiter:
        """A copy with the same budgets whose past sends are ``sent`` (by key, ``APP`` for the app-wide
        budget, times ascending): the shared history replaces this process's own."""
        copy = RateLimiter(self.windows, self.app.windows if self.app else None)
        copy._tracks = True
        for key, times in sent.items():
            if key == APP and copy.app is not None:
                copy.app._sent[APP].extend(times)
            elif key != APP:
                copy._sent[key].extend(times)
        return copy

    def _wait(self, key: str, now: float, n: int = 1) -> float:
        """Seconds until ``n`` more sends fit every window (``n`` capped at a window's size, so a text of
        more pieces than a window holds still goes once that window is empty)."""
        sent = self._sent[key]
        longest = self.windows[-1][1] if self.windows else 0
        while sent and sent[0] <= now - longest:
            sent.popleft()
        wait = 0.0
        for limit, span in self.windows:
            need = min(n, limit)
            if len(sent) + need <= limit:
                continue
            recent = [t for t in sent if t > now - span]
            if len(recent) + need > limit:  # wait until enough of the oldest leave the window
                wait = max(wait, recent[len(recent) + need - limit - 1] + span - now)
        return wait

    def app_wait(self, now: float) -> float:
        """Seconds until the app-wide budget has room again (0 when it has, or there is none)."""
        return self.app._wait(APP, now) if self.app else 0.0

    def reserve(self, key: str, now: float, n: int = 1) -> float:
        """Take ``n`` slots at once (a long text the platform gets as n messages) or say how long to wait."""
        wait = max(self._wait(key, now, n), self.app._wait(APP, now, n) if self.app else 0.0)
        if wait > 0:
            return wait
        self._sent[key].extend([now] * n)
        if self.app:
            self.app._sent[APP].extend([now] * n)
        if self._tracks:
            self.taken += [(key, now), (APP, now)] * n if self.app else [(key, now)] * n
        return 0.0


def unlimited() -> RateLimiter:
    return RateLimiter([])
