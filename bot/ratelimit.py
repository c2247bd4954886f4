"""Sliding-window send budgets per recipient (WeCom drops silently above 30/min or 1000/h)."""

from __future__ import annotations

from collections import defaultdict, deque


class RateLimiter:
    """``reserve`` either takes a slot now (returns 0) or says how many seconds to wait."""

    def __init__(self, windows: list[tuple[int, float]]) -> None:
        self.windows = sorted(windows, key=lambda w: w[1])  # (max sends, seconds)
        self._sent: dict[str, deque[float]] = defaultdict(deque)

    def reserve(self, key: str, now: float) -> float:
        sent = self._sent[key]
        longest = self.windows[-1][1] if self.windows else 0
        while sent and sent[0] <= now - longest:
            sent.popleft()
        wait = 0.0
        for limit, span in self.windows:
            recent = [t for t in sent if t > now - span] if len(sent) >= limit else []
            if len(recent) >= limit:
                wait = max(wait, recent[-limit] + span - now)
        if wait > 0:
            return wait
        sent.append(now)
        return 0.0


def unlimited() -> RateLimiter:
    return RateLimiter([])
