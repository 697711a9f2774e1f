"""Events: what the engine did. Past-tense names, frozen values, one ordered stream.

Each event carries `seq`, its place in the engine's single sequence (commands take a number in
the same sequence, just before their events), and `ts_us`, the engine clock when it happened.

For one command the stream holds, in order: expiries that the command's time caused; the
command's outcome (accepted, rejected with a reason, or the operator change made); trades and
the order changes they cause; then one `BookChanged` per price level the command touched, with
the level's new displayed total (0: the level is gone), so market data needs no other source.

Trades carry both sides' remaining quantities (`maker_leaves`, `taker_leaves`): with the
accepted, replaced, restated, canceled and expired events they give every order's state.
"""

from __future__ import annotations

from typing import NamedTuple

from exchange.engine.enums import OrdType, Side, StpMode, TimeInForce, TradingState
from exchange.engine.reasons import CancelReason, Reject


class OrderAccepted(NamedTuple):
    seq: int
    ts_us: int
    order_id: int
    account: str
    cl_ord_id: str
    symbol: str
    side: Side
    ord_type: OrdType
    qty: int
    price: int | None
    tif: TimeInForce
    expire_at_us: int | None
    post_only: bool
    display_qty: int | None
    stp: StpMode


class OrderRejected(NamedTuple):
    seq: int
    ts_us: int
    account: str
    cl_ord_id: str
    symbol: str
    reason: Reject


class TradeExecuted(NamedTuple):
    seq: int
    ts_us: int
    trade_id: int
    symbol: str
    price: int  # always the resting (maker) order's price
    qty: int
    aggressor_side: Side
    maker_order_id: int
    maker_account: str
    maker_leaves: int
    taker_order_id: int
    taker_account: str
    taker_leaves: int


class OrderCanceled(NamedTuple):
    seq: int
    ts_us: int
    order_id: int
    account: str
    symbol: str
    canceled_qty: int
    reason: CancelReason


class OrderExpired(NamedTuple):
    seq: int
    ts_us: int
    order_id: int
    account: str
    symbol: str
    expired_qty: int


class OrderReplaced(NamedTuple):
    seq: int
    ts_us: int
    order_id: int
    account: str
    cl_ord_id: str
    symbol: str
    qty: int  # new total order quantity
    price: int
    leaves: int
    kept_priority: bool


class OrderRestated(NamedTuple):
    """An order's remaining quantity changed without a trade (self-trade decrement)."""

    seq: int
    ts_us: int
    order_id: int
    account: str
    symbol: str
    leaves: int
    reason: CancelReason


class CancelRejected(NamedTuple):
    """A cancel or amend that could not be done; the order, if any, is unchanged."""

    seq: int
    ts_us: int
    account: str
    order_id: int
    reason: Reject


class MassCanceled(NamedTuple):
    seq: int
    ts_us: int
    account: str
    symbol: str | None
    side: Side | None
    count: int  # type: ignore[assignment]


class CommandRejected(NamedTuple):
    """An operator command or mass cancel that could not be done."""

    seq: int
    ts_us: int
    reason: Reject
    detail: str


class InstrumentAdded(NamedTuple):
    seq: int
    ts_us: int
    symbol: str


class InstrumentsImported(NamedTuple):
    seq: int
    ts_us: int
    count: int  # type: ignore[assignment]


class TradingStateChanged(NamedTuple):
    seq: int
    ts_us: int
    symbol: str
    state: TradingState


class PriceBandSet(NamedTuple):
    seq: int
    ts_us: int
    symbol: str
    reference_price: int | None
    band_ticks: int | None


class TradingScheduleSet(NamedTuple):
    seq: int
    ts_us: int
    symbol: str
    transitions: list[list[int]]


class AccountAdded(NamedTuple):
    seq: int
    ts_us: int
    account: str
    firm: str


class AccountLimitsSet(NamedTuple):
    seq: int
    ts_us: int
    account: str
    max_order_qty: int | None
    max_order_notional: int | None
    max_open_orders: int | None


class CreditLimitSet(NamedTuple):
    seq: int
    ts_us: int
    firm: str
    credit_limit: int | None


class KillSwitchSet(NamedTuple):
    """Followed, when engaged, by OrderCanceled(KILL_SWITCH) for each live order it holds."""

    seq: int
    ts_us: int
    scope: str
    name: str
    engaged: bool
    canceled: int


class TradeBusted(NamedTuple):
    seq: int
    ts_us: int
    trade_id: int
    symbol: str
    price: int
    qty: int
    buy_account: str
    sell_account: str
    reason: str


class TradingDayStarted(NamedTuple):
    seq: int
    ts_us: int


class KeyIssued(NamedTuple):
    seq: int
    ts_us: int
    key_id: str
    role: str
    account: str | None


class KeyRevoked(NamedTuple):
    seq: int
    ts_us: int
    key_id: str


class BookChanged(NamedTuple):
    seq: int
    ts_us: int
    symbol: str
    side: Side
    price: int
    qty: int  # the level's new displayed total; 0 removes the level


class AuctionIndicative(NamedTuple):
    """A call's indicative figures changed (or the call started): the price it would uncross
    at now, the volume, and the surplus left; displayed quantities only. `price` None and
    `volume` 0: nothing would execute."""

    seq: int
    ts_us: int
    symbol: str
    state: TradingState
    price: int | None
    volume: int
    surplus: int
    surplus_side: Side | None


class AuctionUncrossed(NamedTuple):
    """The call `state` ended with trades at one price; the TradeExecuted events follow."""

    seq: int
    ts_us: int
    symbol: str
    state: TradingState
    price: int
    volume: int
    surplus: int
    surplus_side: Side | None


class VolatilityInterruption(NamedTuple):
    """Order `order_id` was about to trade at `price`, outside [low, high] (the bands): the
    instrument enters a volatility call that ends at `call_end_us`."""

    seq: int
    ts_us: int
    symbol: str
    order_id: int
    price: int
    low: int
    high: int
    call_end_us: int


class AuctionExtended(NamedTuple):
    """A volatility call reached its end with its indicative price outside the static band:
    it goes on until `call_end_us` (once)."""

    seq: int
    ts_us: int
    symbol: str
    price: int
    call_end_us: int


class VolatilityBandsSet(NamedTuple):
    seq: int
    ts_us: int
    symbol: str
    dynamic_ticks: int | None
    static_ticks: int | None
    call_us: int


class StopOrderAccepted(NamedTuple):
    seq: int
    ts_us: int
    order_id: int
    account: str
    cl_ord_id: str
    symbol: str
    side: Side
    ord_type: OrdType  # STOP or STOP_LIMIT
    qty: int
    stop_price: int
    price: int | None
    tif: TimeInForce
    stp: StpMode


class StopTriggered(NamedTuple):
    """A trade at `trigger_price` reached the stop: it leaves the held stops and enters as a
    new order (`OrderAccepted` of `new_order_id`, same cl_ord_id, or `OrderRejected`, then
    `new_order_id` is None)."""

    seq: int
    ts_us: int
    order_id: int
    account: str
    symbol: str
    trigger_price: int
    new_order_id: int | None


Event = (
    OrderAccepted
    | OrderRejected
    | TradeExecuted
    | OrderCanceled
    | OrderExpired
    | OrderReplaced
    | OrderRestated
    | CancelRejected
    | MassCanceled
    | CommandRejected
    | InstrumentAdded
    | InstrumentsImported
    | TradingStateChanged
    | PriceBandSet
    | TradingScheduleSet
    | AccountAdded
    | AccountLimitsSet
    | BookChanged
    | CreditLimitSet
    | KillSwitchSet
    | TradeBusted
    | TradingDayStarted
    | KeyIssued
    | KeyRevoked
    | AuctionIndicative
    | AuctionUncrossed
    | VolatilityInterruption
    | AuctionExtended
    | VolatilityBandsSet
    | StopOrderAccepted
    | StopTriggered
)

EVENT_TYPES: tuple[type, ...] = (
    OrderAccepted,
    OrderRejected,
    TradeExecuted,
    OrderCanceled,
    OrderExpired,
    OrderReplaced,
    OrderRestated,
    CancelRejected,
    MassCanceled,
    CommandRejected,
    InstrumentAdded,
    InstrumentsImported,
    TradingStateChanged,
    PriceBandSet,
    TradingScheduleSet,
    AccountAdded,
    AccountLimitsSet,
    BookChanged,
    CreditLimitSet,
    KillSwitchSet,
    TradeBusted,
    TradingDayStarted,
    KeyIssued,
    KeyRevoked,
    AuctionIndicative,
    AuctionUncrossed,
    VolatilityInterruption,
    AuctionExtended,
    VolatilityBandsSet,
    StopOrderAccepted,
    StopTriggered,
)
