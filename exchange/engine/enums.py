"""The engine's vocabulary: sides, order types, times in force, self-trade modes, trading states.

All are IntEnums so that they travel as small integers in MessagePack and compare equal to the
integers that a decoded record holds. Values are stable: never renumber, only append.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TypeVar


class Side(IntEnum):
    BUY = 1
    SELL = 2

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrdType(IntEnum):
    LIMIT = 1
    MARKET = 2
    STOP = 3  # held off the book; a market order when a trade reaches its stop price
    STOP_LIMIT = 4  # held off the book; a limit order at its price when triggered


class TimeInForce(IntEnum):
    GTC = 1  # good till canceled
    DAY = 2  # expires when the instrument closes
    GTD = 3  # good till a time (expire_at_us)
    IOC = 4  # immediate or cancel: the remainder never rests
    FOK = 5  # fill or kill: all at once or nothing


class StpMode(IntEnum):
    """Self-trade prevention, chosen by the aggressor, applied between orders of one firm."""

    CANCEL_RESTING = 1
    CANCEL_INCOMING = 2
    CANCEL_BOTH = 3
    DECREMENT = 4  # reduce both by the overlap; no trade


class TradingState(IntEnum):
    OPEN = 1  # orders, amends and cancels
    HALTED = 2  # cancels only
    CLOSED = 3  # cancels only; DAY orders expire on entering it
    # The calls (docs/engine.md, "Trading phases"): orders and cancels, nothing trades until
    # the uncross; entering OPEN or CLOSED uncrosses a crossed book first.
    PRE_OPEN = 4  # the opening auction's call
    CLOSING_AUCTION = 5  # the closing auction's call
    VOLATILITY_AUCTION = 6  # a volatility interruption's call (entered by the engine only)


CALL_STATES = frozenset({TradingState.PRE_OPEN, TradingState.CLOSING_AUCTION,
                         TradingState.VOLATILITY_AUCTION})


E = TypeVar("E", bound=IntEnum)


def members(enum: type[E]) -> dict[int, E]:
    """value -> member, for turning a validated int into its enum without Enum.__call__'s cost."""
    return {member.value: member for member in enum}
