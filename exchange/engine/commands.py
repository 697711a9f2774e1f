"""Commands: what may be asked of the engine. Imperative names, frozen values.

Every state change of the venue is one of these, including operator actions, so the ordered list
of commands alone determines the state. Time arrives inside each command (`ts_us`, microseconds);
the engine never reads a clock. Prices are integers in the instrument's price unit
(10**-price_decimals) and must be multiples of its tick; quantities are integer lots. Notional
limits are money in micro-units (10**-6) of the venue's currency (see `Instrument.notional`).

The engine validates every field itself (types included): a command built with a float price or a
string quantity is rejected with a reason code, never raised on. New fields go at the end with a
default, so that records written before them still decode.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from exchange.engine.enums import OrdType, Side, StpMode, TimeInForce, TradingState
from exchange.engine.reasons import CancelReason


class SubmitOrder(NamedTuple):
    ts_us: int
    account: str
    cl_ord_id: str
    symbol: str
    side: Side
    qty: int
    price: int | None = None  # required for LIMIT, absent for MARKET
    ord_type: OrdType = OrdType.LIMIT
    tif: TimeInForce = TimeInForce.GTC
    expire_at_us: int | None = None  # GTD only
    post_only: bool = False
    display_qty: int | None = None  # iceberg peak; None shows it all
    stp: StpMode = StpMode.CANCEL_INCOMING


class CancelOrder(NamedTuple):
    ts_us: int
    account: str
    order_id: int


class AmendOrder(NamedTuple):
    """Replace an order's total quantity and/or price (FIX OrderCancelReplaceRequest).

    `qty` is the new total order quantity, filled part included. Quantity down at the same price
    keeps queue priority; a price change or quantity up loses it and may trade at once; a new
    total at or below the filled quantity cancels the rest.
    """

    ts_us: int
    account: str
    order_id: int
    qty: int
    price: int
    cl_ord_id: str | None = None  # the replacement's client id; None keeps the old one


class MassCancel(NamedTuple):
    """Cancel the account's live orders, optionally of one instrument and/or side. `reason` says
    who asked: the trader (MASS_CANCEL), the gateway (DISCONNECT, DEAD_MANS_SWITCH) or an
    operator (OPERATOR)."""

    ts_us: int
    account: str
    symbol: str | None = None
    side: Side | None = None
    reason: CancelReason = CancelReason.MASS_CANCEL


class ExpireOrders(NamedTuple):
    """Advance the clock: GTD orders whose time has come expire. Any command does this too."""

    ts_us: int


class AddInstrument(NamedTuple):
    ts_us: int
    symbol: str
    commodity: str
    grade: str
    location: str
    delivery_period: str
    unit: str  # e.g. "t"
    lot_size: int  # units per lot
    tick_size: int  # in price units
    price_decimals: int
    min_qty: int = 1
    max_qty: int = 1_000_000
    reference_price: int | None = None
    band_ticks: int | None = None  # max distance from the reference, in ticks; None: no band
    state: TradingState = TradingState.OPEN
    # The price range, in price units; None: the default (instrument.spec_price_range): one
    # tick up to the highest price at which max_qty lots are worth MAX_ORDER_NOTIONAL. Zero
    # and negative prices are allowed only where min_price says so.
    min_price: int | None = None
    max_price: int | None = None


class ImportInstruments(NamedTuple):
    """List many instruments at once, all or none: `rows` holds each AddInstrument's fields
    after `ts_us`, in order. One command, one event, one ledger record for the lot."""

    ts_us: int
    rows: list[list[Any]]


class SetTradingState(NamedTuple):
    ts_us: int
    symbol: str
    state: TradingState


class SetPriceBand(NamedTuple):
    ts_us: int
    symbol: str
    reference_price: int | None
    band_ticks: int | None


class SetTradingSchedule(NamedTuple):
    """An instrument's trading day: `transitions` is `[[second of the UTC day, TradingState],
    ...]` in strictly increasing time, at most MAX_TRANSITIONS (empty: no schedule). The engine
    checks and records it and changes nothing else; the gateway drives it
    (exchange/gateway/schedule.py), sending each day, at each of these times, a SetTradingState
    with that time in it."""

    ts_us: int
    symbol: str
    transitions: list[list[int]]


class AddAccount(NamedTuple):
    ts_us: int
    account: str
    firm: str
    max_order_qty: int | None = None
    max_order_notional: int | None = None  # 10**-6 of the currency, on |price| x qty
    max_open_orders: int | None = None


class SetAccountLimits(NamedTuple):
    ts_us: int
    account: str
    max_order_qty: int | None = None
    max_order_notional: int | None = None
    max_open_orders: int | None = None


class SetCreditLimit(NamedTuple):
    """A firm's credit limit: open buy notional plus net bought notional since the trading day
    started may not pass it (10**-6 of the currency, over all instruments; None: no limit)."""

    ts_us: int
    firm: str
    credit_limit: int | None


class SetKillSwitch(NamedTuple):
    """Engage (cancel every live order, refuse new orders and amends) or release the kill switch
    of a firm (`scope` "firm") or of one account (`scope` "account")."""

    ts_us: int
    scope: str
    name: str
    engaged: bool


class BustTrade(NamedTuple):
    """Record that a trade of the current trading day is canceled. No book changes; the firms'
    net bought notional is given back."""

    ts_us: int
    trade_id: int
    reason: str


class StartTradingDay(NamedTuple):
    """A new trading day: every firm's net bought notional starts again at zero, and the
    previous day's trades can no longer be busted."""

    ts_us: int


class IssueKey(NamedTuple):
    """Register an API key: its id, role (trader, operator, auditor), the account a trader key
    acts for, and a salted hash of its secret. The secret itself never enters a command: the
    gateway makes it, shows it once, and keeps only `salt` and `secret_hash` (hex SHA-256 of
    salt + secret). A key id names one key forever, revoked or not."""

    ts_us: int
    key_id: str
    role: str
    account: str | None
    salt: str
    secret_hash: str


class RevokeKey(NamedTuple):
    ts_us: int
    key_id: str


class SetVolatilityBands(NamedTuple):
    """Volatility interruptions for an instrument (docs/engine.md, "Volatility
    interruptions"): a continuous trade that would be more than `dynamic_ticks` ticks from the
    last trade price, or `static_ticks` from the reference price, starts a call of `call_us`
    instead. None switches that band off; both None: no interruptions."""

    ts_us: int
    symbol: str
    dynamic_ticks: int | None
    static_ticks: int | None
    call_us: int


class SubmitStopOrder(NamedTuple):
    """A stop (no `price`: a market order when triggered) or stop-limit order (a limit order
    at `price`), held off the book until a trade reaches `stop_price` (at or above it for a
    buy, at or below for a sell). `tif` is GTC or DAY; the order it becomes is a market IOC or
    a limit order with this `tif`."""

    ts_us: int
    account: str
    cl_ord_id: str
    symbol: str
    side: Side
    qty: int
    stop_price: int
    price: int | None = None
    tif: TimeInForce = TimeInForce.GTC
    stp: StpMode = StpMode.CANCEL_INCOMING


Command = (
    SubmitOrder
    | CancelOrder
    | AmendOrder
    | MassCancel
    | ExpireOrders
    | AddInstrument
    | ImportInstruments
    | SetTradingState
    | SetPriceBand
    | SetTradingSchedule
    | AddAccount
    | SetAccountLimits
    | SetCreditLimit
    | SetKillSwitch
    | BustTrade
    | StartTradingDay
    | IssueKey
    | RevokeKey
    | SetVolatilityBands
    | SubmitStopOrder
)

COMMAND_TYPES: tuple[type, ...] = (
    SubmitOrder,
    CancelOrder,
    AmendOrder,
    MassCancel,
    ExpireOrders,
    AddInstrument,
    ImportInstruments,
    SetTradingState,
    SetPriceBand,
    SetTradingSchedule,
    AddAccount,
    SetAccountLimits,
    SetCreditLimit,
    SetKillSwitch,
    BustTrade,
    StartTradingDay,
    IssueKey,
    RevokeKey,
    SetVolatilityBands,
    SubmitStopOrder,
)
