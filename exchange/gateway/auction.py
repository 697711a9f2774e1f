"""The `auction` channel: an instrument's trading phase and, during a call, its indicative
uncross figures. Pure.

`AuctionFeed.apply(event)` folds one engine event in and returns the message it makes, or
None: each TradingStateChanged is one `phase` message, numbered by the instrument's auction
`seq` (1, 2, ... over the whole history, so the same after a restart). Every message carries
the whole state it names (the phase, and what the call shows), so a client that misses one
needs no resync, only the next; the seq tells it that it missed one. `snapshot()` is what a
new subscriber gets first. Cost: O(1) per event.
"""

from __future__ import annotations

from typing import Any

from exchange.engine.enums import TradingState
from exchange.engine.events import TradingStateChanged


class AuctionFeed:
    """One instrument's phase and its auction seq."""

    __slots__ = ("decimals", "phase", "seq", "symbol")
    EVENTS: tuple[type, ...] = (TradingStateChanged,)  # the events that make messages

    def __init__(self, symbol: str, decimals: int,
                 phase: TradingState = TradingState.OPEN) -> None:
        self.symbol = symbol
        self.decimals = decimals
        self.phase = phase
        self.seq = 0

    def apply(self, event: Any) -> dict[str, Any] | None:
        if type(event) is not TradingStateChanged:
            return None
        self.phase = TradingState(event.state)
        self.seq += 1
        return {"ch": "auction", "type": "phase", "sym": self.symbol, "seq": self.seq,
                "phase": self.phase.name, "ts_us": event.ts_us}

    def snapshot(self) -> dict[str, Any]:
        return {"ch": "auction", "type": "snapshot", "sym": self.symbol, "seq": self.seq,
                "phase": self.phase.name}

    def dump(self) -> list[Any]:
        """What the gateway snapshot keeps (`load` takes it back)."""
        return [int(self.phase), self.seq]

    def load(self, saved: list[Any]) -> None:
        phase, self.seq = saved[:2]
        self.phase = TradingState(phase)
