"""The venue's recent activity for operators: orders, trades and commands per second over the last
minute, and slow-consumer counts. Pure: the venue passes the clock and the engine's counters in.

Nothing here runs per order. `sample` reads the engine's running counters (the next order id,
the next trade id, the command sequence) at most once a second, from the venue's periodic tick,
and keeps the last `WINDOW_S` seconds of samples; a rate is the difference between the newest
sample and the oldest one in the window, divided by the time between them. Costs: `sample` O(1)
amortized; `rates` O(1); memory O(WINDOW_S).
"""

from __future__ import annotations

from collections import deque
from typing import Any, NamedTuple

WINDOW_S = 60.0


class Sample(NamedTuple):
    at_s: float  # monotonic seconds
    orders: int  # orders accepted so far
    trades: int
    commands: int


class ActivityMeter:
    def __init__(self) -> None:
        self.samples: deque[Sample] = deque()
        self.slow_consumer_disconnects = 0
        self.resyncs_required = 0

    def sample(self, now_s: float, engine: Any) -> None:
        """Record the engine's counters (ignored within a second of the last sample)."""
        samples = self.samples
        if samples and now_s - samples[-1].at_s < 1.0:
            return
        samples.append(Sample(now_s, engine.next_order_id - 1, engine.next_trade_id - 1,
                              engine.last_command_seq))
        while now_s - samples[0].at_s > WINDOW_S:
            samples.popleft()

    def rates(self, now_s: float, engine: Any) -> dict[str, Any]:
        """Per-second rates since the oldest sample of the last minute, up to now."""
        current = Sample(now_s, engine.next_order_id - 1, engine.next_trade_id - 1,
                         engine.last_command_seq)
        oldest = next((s for s in self.samples if now_s - s.at_s <= WINDOW_S), None)
        if oldest is None or current.at_s - oldest.at_s < 0.5:
            return {"window_s": 0.0, "orders_per_s": 0.0, "trades_per_s": 0.0,
                    "commands_per_s": 0.0}
        span = current.at_s - oldest.at_s
        return {
            "window_s": round(span, 1),
            "orders_per_s": round((current.orders - oldest.orders) / span, 1),
            "trades_per_s": round((current.trades - oldest.trades) / span, 1),
            "commands_per_s": round((current.commands - oldest.commands) / span, 1),
        }
