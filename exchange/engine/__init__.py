"""The matching engine: pure and deterministic. No I/O, no clock, no randomness.

Public surface: `Engine`, the commands, the events, the enums and reason codes. The codec
(`exchange.engine.codec`) and snapshots (`exchange.engine.snapshot`) are modules of their own.
The hot path is compiled (Cython: book.pyx, risk.pyx, core.pyx, and validation.py as it is);
importing the package refuses a build older than its source.
"""

from exchange.engine.compiled import check_builds

check_builds()


from exchange.engine.commands import (
    AddAccount,
    AddInstrument,
    AmendOrder,
    BustTrade,
    CancelOrder,
    Command,
    ExpireOrders,
    ImportInstruments,
    IssueKey,
    MassCancel,
    RevokeKey,
    SetAccountLimits,
    SetCreditLimit,
    SetKillSwitch,
    SetPriceBand,
    SetTradingState,
    StartTradingDay,
    SubmitOrder,
)
from exchange.engine.engine import Engine
from exchange.engine.enums import (
    OrdType,
    Side,
    StpMode,
    TimeInForce,
    TradingState,
)
from exchange.engine.events import (
    AccountAdded,
    AccountLimitsSet,
    BookChanged,
    CancelRejected,
    CommandRejected,
    CreditLimitSet,
    Event,
    InstrumentAdded,
    InstrumentsImported,
    KeyIssued,
    KeyRevoked,
    KillSwitchSet,
    MassCanceled,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderRejected,
    OrderReplaced,
    OrderRestated,
    PriceBandSet,
    TradeBusted,
    TradeExecuted,
    TradingDayStarted,
    TradingStateChanged,
)
from exchange.engine.reasons import CancelReason, Reject

__all__ = [
    "AccountAdded",
    "AccountLimitsSet",
    "AddAccount",
    "AddInstrument",
    "AmendOrder",
    "BookChanged",
    "BustTrade",
    "CancelOrder",
    "CancelReason",
    "CancelRejected",
    "Command",
    "CommandRejected",
    "CreditLimitSet",
    "Engine",
    "Event",
    "ExpireOrders",
    "ImportInstruments",
    "InstrumentAdded",
    "InstrumentsImported",
    "IssueKey",
    "KeyIssued",
    "KeyRevoked",
    "KillSwitchSet",
    "MassCancel",
    "MassCanceled",
    "OrdType",
    "OrderAccepted",
    "OrderCanceled",
    "OrderExpired",
    "OrderRejected",
    "OrderReplaced",
    "OrderRestated",
    "PriceBandSet",
    "Reject",
    "RevokeKey",
    "SetAccountLimits",
    "SetCreditLimit",
    "SetKillSwitch",
    "SetPriceBand",
    "SetTradingState",
    "Side",
    "StartTradingDay",
    "StpMode",
    "SubmitOrder",
    "TimeInForce",
    "TradeBusted",
    "TradeExecuted",
    "TradingDayStarted",
    "TradingState",
    "TradingStateChanged",
]
