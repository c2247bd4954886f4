"""Sliding-window send budgets per recipient (WeCom drops silently above 30/min or 1000/h), optionally
under app-wide budgets too (Feishu: 5/s per user and 50/s, 1000/min per app)."""

from __future__ import annotations

from collections import defaultdict, deque

APP = "*"


class RateLimiter:
    """``reserve`` either takes a slot now (returns 0) or says how many seconds to wait."""

    def __init__(self, windows: list[tuple[int, float]], app_windows: list[tuple[int, float]] | None = None) -> None:
        self.windows = sorted(windows, key=lambda w: w[1])  # (max sends, seconds)
        self._sent: dict[str, deque[float]] = defaultdict(deque)
        self.app = RateLimiter(app_windows) if app_windows else None

    def _wait(self, key: str, now: float) -> float:
        sent = self._sent[key]
        longest = self.windows[-1][1] if self.windows else 0
        while sent and sent[0] <= now - longest:
            sent.popleft()
        wait = 0.0
        for limit, span in self.windows:
            recent = [t for t in sent if t > now - span] if len(sent) >= limit else []
            if len(recent) >= limit:
                wait = max(wait, recent[-limit] + span - now)
        return wait

    def reserve(self, key: str, now: float) -> float:
        wait = max(self._wait(key, now), self.app._wait(APP, now) if self.app else 0.0)
        if wait > 0:
            return wait
        self._sent[key].append(now)
        if self.app:
            self.app._sent[APP].append(now)
        return 0.0


def unlimited() -> RateLimiter:
    return RateLimiter([])
