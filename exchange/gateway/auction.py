"""The `auction` channel: an instrument's trading phase and, during a call, its indicative
uncross figures; the uncross itself, volatility interruptions and their extensions. Pure.

`AuctionFeed.apply(event)` folds one engine event in and returns the message it makes, or
None: each TradingStateChanged (`phase`), AuctionIndicative (`indicative`), AuctionUncrossed
(`uncross`), VolatilityInterruption (`interruption`) and AuctionExtended (`extended`) is one
message, numbered by the instrument's auction `seq` (1, 2, ... over the whole history, so the
same after a restart). Every message carries the whole state it names (the phase, and the
figures it shows), so a client that misses one needs no resync, only the next; the seq tells
it that it missed one. `snapshot()` is what a new subscriber gets first: the phase, the call's
last indicative figures and a volatility call's planned end. Figures are displayed
quantities (an iceberg counts its display quantity), lots as strings, prices as decimal
strings at the instrument's decimals. Cost: O(1) per event.
"""

from __future__ import annotations

from typing import Any

from exchange.engine.enums import CALL_STATES, TradingState
from exchange.engine.events import (
    AuctionExtended,
    AuctionIndicative,
    AuctionUncrossed,
    TradingStateChanged,
    VolatilityInterruption,
)
from exchange.engine.instrument import format_price


class AuctionFeed:
    """One instrument's phase, its auction seq, and what its call shows."""

    __slots__ = ("call_end_us", "decimals", "indicative", "phase", "seq", "symbol")
    EVENTS: tuple[type, ...] = (TradingStateChanged, AuctionIndicative, AuctionUncrossed,
                                VolatilityInterruption, AuctionExtended)

    def __init__(self, symbol: str, decimals: int,
                 phase: TradingState = TradingState.OPEN) -> None:
        self.symbol = symbol
        self.decimals = decimals
        self.phase = phase
        self.seq = 0
        self.indicative: dict[str, Any] | None = None  # px, qty, imbalance_side, imbalance_qty
        self.call_end_us: int | None = None  # a volatility call's planned end

    def apply(self, event: Any) -> dict[str, Any] | None:
        kind = type(event)
        if kind is TradingStateChanged:
            self.phase = TradingState(event.state)
            if self.phase not in CALL_STATES:
                self.indicative = None
            if self.phase is not TradingState.VOLATILITY_AUCTION:
                self.call_end_us = None
            body: dict[str, Any] = {"type": "phase"}
        elif kind is AuctionIndicative:
            self.indicative = self._figures(event)
            body = {"type": "indicative", **self.indicative}
        elif kind is AuctionUncrossed:
            body = {"type": "uncross", "call": TradingState(event.state).name,
                    **self._figures(event)}
        elif kind is VolatilityInterruption:
            self.call_end_us = event.call_end_us
            body = {"type": "interruption", "px": self._px(event.price),
                    "low": self._px(event.low), "high": self._px(event.high),
                    "call_end_us": event.call_end_us}
        elif kind is AuctionExtended:
            self.call_end_us = event.call_end_us
            body = {"type": "extended", "px": self._px(event.price),
                    "call_end_us": event.call_end_us}
        else:
            return None
        self.seq += 1
        return {"ch": "auction", **body, "sym": self.symbol, "seq": self.seq,
                "phase": self.phase.name, "ts_us": event.ts_us}

    def _px(self, price: int | None) -> str | None:
        return None if price is None else format_price(price, self.decimals)

    def _figures(self, event: AuctionIndicative | AuctionUncrossed) -> dict[str, Any]:
        side = event.surplus_side
        return {"px": self._px(event.price), "qty": str(event.volume),
                "imbalance_side": None if side is None else side.name,
                "imbalance_qty": str(event.surplus)}

    def snapshot(self) -> dict[str, Any]:
        return {"ch": "auction", "type": "snapshot", "sym": self.symbol, "seq": self.seq,
                "phase": self.phase.name, "indicative": self.indicative,
                "call_end_us": self.call_end_us}

    def dump(self) -> list[Any]:
        """What the gateway snapshot keeps (`load` takes it back)."""
        return [int(self.phase), self.seq, self.indicative, self.call_end_us]

    def load(self, saved: list[Any]) -> None:
        phase, self.seq, *call = saved
        self.phase = TradingState(phase)
        self.indicative, self.call_end_us = (*call, None, None)[:2]
