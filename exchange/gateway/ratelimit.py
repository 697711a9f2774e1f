"""Token buckets for rate limits. Pure: the caller passes the time in.

A bucket holds up to `burst` tokens and gains `rate` tokens per second; `take(now_s)` spends one
if there is one. The gateway keeps one per connection (every message) and one per account (order
operations), and answers an empty bucket with RATE_LIMITED. Cost: O(1).
"""

from __future__ import annotations


class TokenBucket:
    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: float, now_s: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = now_s

    def take(self, now_s: float, cost: float = 1.0) -> bool:
        """Spend `cost` tokens if the bucket has them; False (and nothing spent) otherwise."""
        if now_s > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now_s - self.stamp) * self.rate)
            self.stamp = now_s
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False

    def remaining(self) -> int:
        return int(self.tokens)
