"""The matching engine: pure and deterministic. No I/O, no clock, no randomness.

Public surface: `Engine`, the commands, the events, the enums and reason codes, and the codec.
"""

from exchange.engine.commands import (
    AddAccount,
    AddInstrument,
    AmendOrder,
    CancelOrder,
    Command,
    ExpireOrders,
    MassCancel,
    SetAccountLimits,
    SetPriceBand,
    SetTradingState,
    SubmitOrder,
)
from exchange.engine.engine import Engine
from exchange.engine.enums import OrdType, Side, StpMode, TimeInForce, TradingState
from exchange.engine.events import (
    AccountAdded,
    AccountLimitsSet,
    BookChanged,
    CancelRejected,
    CommandRejected,
    Event,
    InstrumentAdded,
    MassCanceled,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderRejected,
    OrderReplaced,
    OrderRestated,
    PriceBandSet,
    TradeExecuted,
    TradingStateChanged,
)
from exchange.engine.reasons import CancelReason, Reject

__all__ = [
    "AccountAdded", "AccountLimitsSet", "AddAccount", "AddInstrument", "AmendOrder",
    "BookChanged", "CancelOrder", "CancelReason", "CancelRejected", "Command", "CommandRejected",
    "Engine", "Event", "ExpireOrders", "InstrumentAdded", "MassCancel", "MassCanceled",
    "OrdType", "OrderAccepted", "OrderCanceled", "OrderExpired", "OrderRejected",
    "OrderReplaced", "OrderRestated", "PriceBandSet", "Reject", "SetAccountLimits",
    "SetPriceBand", "SetTradingState", "Side", "StpMode", "SubmitOrder", "TimeInForce",
    "TradeExecuted", "TradingState", "TradingStateChanged",
]
