"""A naive reference model of the matching engine, written from docs/engine.md alone.

Deliberately simple and obviously correct rather than fast: each side of a book is a plain list
of resting orders; the best order is found by a linear scan for the smallest key (price, then a
time-arrival counter that grows each time an order joins the back of a level); an order is found
by scanning every list; a firm's open buy notional is summed over every resting order each time
the credit check asks, each order valued as money at its own instrument's lot size and price
decimals. It emits the same events (types, fields, sequence numbers) as
`exchange.engine.Engine`, so the two can be run side by side and compared event for event.

Where docs/engine.md says nothing about a detail that still shows in the events (what counts as
a valid name, the text of a `CommandRejected.detail`), the model takes the engine's choice and
says so; `CommandRejected.detail` is free text and is compared blank (see `normalized`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exchange.engine import events as ev
from exchange.engine.commands import (
    AddAccount,
    AddInstrument,
    AmendOrder,
    BustTrade,
    CancelOrder,
    ExpireOrders,
    ImportInstruments,
    MassCancel,
    SetAccountLimits,
    SetCreditLimit,
    SetKillSwitch,
    SetPriceBand,
    SetTradingState,
    SetVolatilityBands,
    StartTradingDay,
    SubmitOrder,
    SubmitStopOrder,
)
from exchange.engine.enums import OrdType, Side, StpMode, TimeInForce, TradingState
from exchange.engine.reasons import CancelReason, Reject
from tests.engine.model_calls import CALLS, CallRules
from tests.engine.model_fields import is_int, is_member, is_name, optional, positive, text

ORDER_NOTIONAL_MOST = 10**18  # docs/engine.md "Bounds": one order, at its worst price
FIRM_DAY_NOTIONAL_MOST = 2 * 10**18  # a firm's traded-today plus resting notional
GTC, DAY, GTD, IOC, FOK = TimeInForce
RESTING_TIFS = (GTC, DAY, GTD)
BUY, SELL = Side.BUY, Side.SELL
MASS_CANCEL_REASONS = (CancelReason.MASS_CANCEL, CancelReason.DISCONNECT,
                       CancelReason.DEAD_MANS_SWITCH, CancelReason.OPERATOR)


def normalized(events: list[Any]) -> list[tuple[str, tuple]]:
    """Events as (type name, fields) pairs, comparable across implementations: NamedTuple
    equality alone is tuple equality and would not tell two event types apart. The free-text
    `CommandRejected.detail` is blanked (the doc does not define it)."""
    out = []
    for event in events:
        if type(event) is ev.CommandRejected:
            event = event._replace(detail="")
        out.append((type(event).__name__, tuple(event)))
    return out


def operator_state(value: Any) -> bool:
    """A trading state an operator may set: any but a volatility call (the engine's own)."""
    return is_member(value, TradingState) and value != TradingState.VOLATILITY_AUCTION


def reaches(side: int, limit: int | None, price: int) -> bool:
    """May an order on `side` with `limit` (None: any price) trade at `price`?"""
    if limit is None:
        return True
    return price <= limit if side == BUY else price >= limit


@dataclass
class Order:
    order_id: int
    account: str
    firm: str
    cl_ord_id: str
    symbol: str
    side: Side
    ord_type: OrdType
    price: int | None
    qty: int
    leaves: int
    visible: int
    display_qty: int | None
    tif: TimeInForce
    expire_at_us: int | None
    post_only: bool
    stp: StpMode
    time: int = 0  # arrival counter at the back of its level


@dataclass
class Instrument:
    symbol: str
    tick: int
    min_qty: int
    max_qty: int
    state: TradingState
    reference: int | None
    band_ticks: int | None
    lot_size: int
    decimals: int  # price decimals
    min_price: int
    max_price: int

    def notional(self, price: int, qty: int) -> int:
        """Money in 10**-6 of the currency: price is in 10**-decimals per unit, a lot is
        lot_size units, so price * qty lots is price * qty * lot_size * 10**(6 - decimals)."""
        return price * qty * self.lot_size * 10 ** (6 - self.decimals)

    def band(self) -> tuple[int, int] | None:
        if self.reference is None or self.band_ticks is None:
            return None
        width = self.band_ticks * self.tick
        # the doc: the band's edges never leave the price range
        return (max(self.reference - width, self.min_price),
                min(self.reference + width, self.max_price))

    def band_edge(self, side: int) -> int | None:
        band = self.band()
        return None if band is None else band[1] if side == BUY else band[0]


@dataclass
class Account:
    firm: str
    max_qty: int | None
    max_notional: int | None
    max_open: int | None
    blocked: bool = False  # its kill switch


@dataclass
class Firm:
    credit_limit: int | None = None
    net_bought: int = 0  # bought minus sold notional (money) since the trading day started
    blocked: bool = False  # its kill switch


@dataclass(frozen=True)
class Trade:
    symbol: str
    price: int
    qty: int
    buyer: str  # the buying account
    seller: str


def instrument_scale(instrument: Instrument) -> int:
    return instrument.lot_size * 10 ** (6 - instrument.decimals)


def spec_range(cmd: AddInstrument) -> tuple[int, int] | None:
    """The doc's price range of an instrument: min_price (default one tick) to max_price
    (default: the highest tick at which max_qty lots are worth at most ORDER_NOTIONAL_MOST),
    both on a tick, in order, and max_qty lots at either end within ORDER_NOTIONAL_MOST."""
    lot_value = cmd.max_qty * cmd.lot_size * 10 ** (6 - cmd.price_decimals)
    low = cmd.tick_size if cmd.min_price is None else cmd.min_price
    high = cmd.max_price
    if high is None:
        high = ORDER_NOTIONAL_MOST // lot_value
        high -= high % cmd.tick_size
    if low % cmd.tick_size or high % cmd.tick_size or low > high:
        return None
    if max(abs(low), abs(high)) * lot_value > ORDER_NOTIONAL_MOST:
        return None
    return low, high


class Model(CallRules):
    def __init__(self) -> None:
        self.init_calls()
        self.seq = 0
        self.now = 0
        self.next_order_id = 1
        self.next_trade_id = 1
        self.clock = 0  # arrival counter
        self.instruments: dict[str, Instrument] = {}
        self.accounts: dict[str, Account] = {}
        self.firms: dict[str, Firm] = {}
        self.trades: dict[int, Trade] = {}  # the trading day's, by trade id
        self.busted: set[int] = set()
        self.bad_import_row = 0  # the row the last rejected import named (0: the command)
        self.sides: dict[tuple[str, Side], list[Order]] = {}
        self.events: list[Any] = []
        self.before: dict[tuple[str, Side, int], int] = {}  # level -> total before the command

    # -- lookups: linear scans ---------------------------------------------------------------

    def all_orders(self) -> list[Order]:
        return [order for resting in self.sides.values() for order in resting]

    def find(self, order_id: int) -> Order | None:
        for order in self.all_orders():
            if order.order_id == order_id:
                return order
        return None

    def best(self, symbol: str, side: Side) -> Order | None:
        """The first order to trade on a side: best price, then earliest arrival."""
        resting = self.sides[(symbol, side)]
        sign = -1 if side == BUY else 1
        return min(resting, key=lambda o: (sign * o.price, o.time), default=None)

    def level(self, symbol: str, side: Side, price: int) -> list[Order]:
        """A level's orders in time order."""
        resting = self.sides[(symbol, side)]
        return sorted((o for o in resting if o.price == price), key=lambda o: o.time)

    def total(self, symbol: str, side: Side, price: int) -> int:
        return sum(o.visible for o in self.level(symbol, side, price))

    def prices(self, symbol: str, side: Side) -> list[int]:
        """The side's prices, best first."""
        distinct = {o.price for o in self.sides[(symbol, side)]}
        return sorted(distinct, reverse=side == BUY)  # type: ignore[arg-type]

    def book(self, symbol: str) -> dict[str, list]:
        """Both sides as [(price, total, [order ids in time order])], best first."""
        return {
            side.name: [
                (price, self.total(symbol, side, price),
                 [o.order_id for o in self.level(symbol, side, price)])
                for price in self.prices(symbol, side)
            ]
            for side in Side
        }

    # -- mutations, each noting the level it changes -----------------------------------------

    def note(self, order: Order) -> None:
        key = (order.symbol, order.side, order.price)
        if key not in self.before:
            self.before[key] = self.total(*key)  # type: ignore[arg-type]

    def add(self, order: Order) -> None:
        self.note(order)
        self.clock += 1
        order.time = self.clock
        order.visible = order.leaves if order.display_qty is None else min(
            order.display_qty, order.leaves)
        self.sides[(order.symbol, order.side)].append(order)

    def remove(self, order: Order) -> None:
        self.note(order)
        self.sides[(order.symbol, order.side)].remove(order)

    def emit(self, cls: type, *fields: Any) -> None:
        self.seq += 1
        self.events.append(cls(self.seq, self.now, *fields))

    def canceled(self, order: Order, qty: int, reason: CancelReason) -> None:
        self.emit(ev.OrderCanceled, order.order_id, order.account, order.symbol, qty, reason)

    def expired(self, order: Order) -> None:
        self.remove(order)
        self.emit(ev.OrderExpired, order.order_id, order.account, order.symbol, order.leaves)

    def restated(self, order: Order) -> None:
        self.emit(ev.OrderRestated, order.order_id, order.account, order.symbol, order.leaves,
                  CancelReason.STP_DECREMENT)

    def reject_command(self, reason: Reject) -> None:
        self.emit(ev.CommandRejected, reason, "")

    # -- the entry point ---------------------------------------------------------------------

    def expire_orders(self, cmd: ExpireOrders) -> None:
        """Only the clock moves (apply expires what is due); a time that is no int is refused
        (the engine's choice)."""
        if not is_int(cmd.ts_us):
            self.reject_command(Reject.INVALID_FIELD)

    def apply(self, cmd: Any) -> list[Any]:
        handlers = {
            SubmitOrder: self.submit, CancelOrder: self.cancel, AmendOrder: self.amend,
            MassCancel: self.mass_cancel, ExpireOrders: self.expire_orders,
            AddInstrument: self.add_instrument, SetTradingState: self.set_trading_state,
            SetPriceBand: self.set_price_band, AddAccount: self.add_account,
            SetAccountLimits: self.set_account_limits, SetCreditLimit: self.set_credit_limit,
            SetKillSwitch: self.set_kill_switch, BustTrade: self.bust_trade,
            StartTradingDay: self.start_trading_day, ImportInstruments: self.import_instruments,
            SetVolatilityBands: self.set_volatility_bands, SubmitStopOrder: self.submit_stop,
        }
        self.seq += 1
        self.events, self.before = [], {}
        handler = handlers.get(type(cmd))
        if handler is not None and is_int(cmd.ts_us) and cmd.ts_us > self.now:
            self.now = cmd.ts_us
        due = [o for o in self.all_orders() if o.expire_at_us is not None
               and o.expire_at_us <= self.now]
        for order in sorted(due, key=lambda o: (o.expire_at_us, o.order_id)):
            self.expired(order)
        self.end_due_calls()
        if handler is None:
            self.reject_command(Reject.INVALID_FIELD)
        else:
            handler(cmd)
        self.cascade()
        for key, before in self.before.items():
            after = self.total(*key)  # type: ignore[arg-type]
            if after != before:
                self.emit(ev.BookChanged, *key, after)
        self.publish()
        return self.events

    # -- orders ------------------------------------------------------------------------------

    def submit(self, cmd: SubmitOrder) -> None:
        reason = self.submit_reject(cmd)
        if reason is not None:
            self.emit(ev.OrderRejected, text(cmd.account), text(cmd.cl_ord_id), text(cmd.symbol),
                      reason)
            return
        account = self.accounts[cmd.account]
        display = cmd.display_qty
        order = Order(
            self.next_order_id, cmd.account, account.firm, cmd.cl_ord_id, cmd.symbol,
            Side(cmd.side), OrdType(cmd.ord_type), cmd.price, cmd.qty, cmd.qty,
            cmd.qty if display is None else min(display, cmd.qty), display,
            TimeInForce(cmd.tif), cmd.expire_at_us, cmd.post_only, StpMode(cmd.stp))
        self.next_order_id += 1
        self.emit(ev.OrderAccepted, order.order_id, order.account, order.cl_ord_id, order.symbol,
                  order.side, order.ord_type, order.qty, order.price, order.tif,
                  order.expire_at_us, order.post_only, order.display_qty, order.stp)
        instrument = self.instruments[order.symbol]
        if self.in_call(order.symbol):  # nothing trades in a call before its uncross
            self.add(order)
            return
        market = order.ord_type == OrdType.MARKET
        limit = instrument.band_edge(order.side) if market else order.price
        self.match(order, limit)
        assert order.tif != FOK or order.leaves == 0, "a fill-or-kill order was partly filled"
        if order.leaves == 0:
            return
        if not market and order.tif in RESTING_TIFS:
            self.add(order)
            return
        if self.in_call(order.symbol):  # its trade interrupted trading
            self.canceled(order, order.leaves, CancelReason.VOLATILITY_INTERRUPTION)
            return
        opposite = self.sides[(order.symbol, order.side.opposite)]
        beyond = market and any(not reaches(order.side, limit, o.price) for o in opposite)
        self.canceled(order, order.leaves,
                      CancelReason.PRICE_BAND if beyond else CancelReason.IOC_REMAINDER)

    def submit_reject(self, cmd: SubmitOrder) -> Reject | None:
        """The doc's checks for a new order, in the doc's order."""
        if not (is_int(cmd.ts_us) and is_name(cmd.account) and is_name(cmd.cl_ord_id)
                and is_name(cmd.symbol) and is_member(cmd.side, Side)
                and cmd.ord_type in (OrdType.LIMIT, OrdType.MARKET) and type(cmd.ord_type) is not bool
                and is_member(cmd.tif, TimeInForce)
                and is_member(cmd.stp, StpMode) and type(cmd.post_only) is bool):
            return Reject.INVALID_FIELD
        if not positive(cmd.qty):
            return Reject.INVALID_QUANTITY
        if not optional(is_int, cmd.price):
            return Reject.INVALID_PRICE
        if not optional(is_int, cmd.expire_at_us):
            return Reject.INVALID_EXPIRE_TIME
        if not optional(positive, cmd.display_qty):
            return Reject.INVALID_DISPLAY_QTY
        account = self.accounts.get(cmd.account)
        if account is None:
            return Reject.UNKNOWN_ACCOUNT
        instrument = self.instruments.get(cmd.symbol)
        if instrument is None:
            return Reject.UNKNOWN_INSTRUMENT
        if self.is_blocked(cmd.account):
            return Reject.BLOCKED
        if instrument.state == TradingState.HALTED:
            return Reject.MARKET_HALTED
        if instrument.state == TradingState.CLOSED:
            return Reject.MARKET_CLOSED
        in_call = self.in_call(cmd.symbol)
        if in_call and (cmd.ord_type == OrdType.MARKET or cmd.tif in (IOC, FOK)):
            return Reject.NOT_IN_CALL
        reason = (self.terms_reject(cmd, instrument)
                  or self.limits_reject(account, instrument, cmd.side, cmd.qty, cmd.price)
                  or self.credit_reject(account.firm, instrument, cmd.side, cmd.price, cmd.qty)
                  or self.capacity_reject(account.firm, instrument, Side(cmd.side), cmd.price,
                                          cmd.qty))
        if reason is not None:
            return reason
        live = [o for o in self.all_orders() if o.account == cmd.account]
        if cmd.cl_ord_id in self.live_ids(cmd.account):
            return Reject.DUPLICATE_ORDER
        may_rest = cmd.ord_type == OrdType.LIMIT and cmd.tif in RESTING_TIFS
        if may_rest and account.max_open is not None and len(live) >= account.max_open:
            return Reject.ACCOUNT_MAX_OPEN_ORDERS
        if in_call:
            return None  # post-only has nothing to take in a call; market, IOC, FOK are out
        best = self.best(cmd.symbol, Side(cmd.side).opposite)
        if cmd.ord_type == OrdType.MARKET and best is None:
            return Reject.NO_LIQUIDITY
        if cmd.post_only and best is not None and reaches(cmd.side, cmd.price, best.price):
            return Reject.WOULD_TAKE
        if cmd.tif == FOK:
            market = cmd.ord_type == OrdType.MARKET
            if best is not None and not self.near_side_within_bands(cmd.symbol, cmd.side,
                                                                    best.price):
                return Reject.FOK_NOT_FILLABLE  # its first trade would interrupt
            limit = self.within_bands(cmd.symbol, cmd.side,
                                      instrument.band_edge(cmd.side) if market else cmd.price)
            if not self.fillable(cmd.symbol, Side(cmd.side), limit, cmd.qty, account.firm,
                                 cmd.stp):
                return Reject.FOK_NOT_FILLABLE
        return None

    def terms_reject(self, cmd: SubmitOrder, instrument: Instrument) -> Reject | None:
        if cmd.qty < instrument.min_qty:
            return Reject.QUANTITY_BELOW_MIN
        if cmd.qty > instrument.max_qty:
            return Reject.QUANTITY_ABOVE_MAX
        if cmd.ord_type == OrdType.LIMIT:
            reason = self.price_reject(cmd.price, instrument)
            if reason is not None:
                return reason
        else:
            if cmd.price is not None:
                return Reject.INVALID_PRICE
            if cmd.tif not in (IOC, FOK) or cmd.post_only:
                return Reject.INVALID_TIF
        if cmd.post_only and cmd.tif in (IOC, FOK):
            return Reject.INVALID_TIF
        if (cmd.tif == GTD) != (cmd.expire_at_us is not None):
            return Reject.INVALID_EXPIRE_TIME
        if cmd.expire_at_us is not None and cmd.expire_at_us <= self.now:
            return Reject.INVALID_EXPIRE_TIME
        may_rest = cmd.ord_type == OrdType.LIMIT and cmd.tif in RESTING_TIFS
        if cmd.display_qty is not None and (cmd.display_qty > cmd.qty or not may_rest):
            return Reject.INVALID_DISPLAY_QTY
        return None

    @staticmethod
    def price_reject(price: int | None, instrument: Instrument) -> Reject | None:
        if price is None:
            return Reject.INVALID_PRICE
        if price % instrument.tick != 0:
            return Reject.INVALID_PRICE_INCREMENT
        if not instrument.min_price <= price <= instrument.max_price:
            return Reject.PRICE_OUT_OF_RANGE
        band = instrument.band()
        if band is not None and not band[0] <= price <= band[1]:
            return Reject.PRICE_OUTSIDE_BAND
        return None

    @staticmethod
    def limits_reject(account: Account, instrument: Instrument, side: int, qty: int,
                      price: int | None) -> Reject | None:
        if account.max_qty is not None and qty > account.max_qty:
            return Reject.ACCOUNT_MAX_ORDER_QTY
        if price is None:
            price = instrument.band_edge(side)  # a market order: the edge it may trade to
        if (account.max_notional is not None and price is not None
                and instrument.notional(abs(price), qty) > account.max_notional):
            return Reject.ACCOUNT_MAX_NOTIONAL
        return None

    def fillable(self, symbol: str, side: Side, limit: int | None, qty: int, firm: str,
                 stp: int) -> bool:
        """The doc's fill-or-kill walk over the opposite side, best level first."""
        for price in self.prices(symbol, side.opposite):
            if not reaches(side, limit, price):
                return False
            level = self.level(symbol, side.opposite, price)
            firms = [o.firm for o in level]
            if stp != StpMode.CANCEL_RESTING and firm in firms:
                ahead = level[:firms.index(firm)]
                return sum(o.visible for o in ahead) >= qty
            qty -= sum(o.leaves for o in level if o.firm != firm)
            if qty <= 0:
                return True
        return False

    def match(self, taker: Order, limit: int | None) -> None:
        """Trade the taker against the opposite side, best order first, up to its limit; a
        trade outside the volatility bands (as they were when it started) interrupts."""
        bands = self.bands(taker.symbol)
        while taker.leaves:
            maker = self.best(taker.symbol, taker.side.opposite)
            if maker is None or not reaches(taker.side, limit, maker.price):
                return
            if bands is not None and not bands[0] <= maker.price <= bands[1]:  # type: ignore[operator]
                self.interrupt(taker.order_id, taker.symbol, maker.price, bands)
                return
            if maker.firm == taker.firm:
                if not self.prevent_self_trade(maker, taker):
                    return
                continue
            qty = min(taker.leaves, maker.visible)
            self.note(maker)
            maker.visible -= qty
            maker.leaves -= qty
            taker.leaves -= qty
            self.emit(ev.TradeExecuted, self.next_trade_id, taker.symbol, maker.price, qty,
                      taker.side, maker.order_id, maker.account, maker.leaves, taker.order_id,
                      taker.account, taker.leaves)
            buyer, seller = (taker, maker) if taker.side == BUY else (maker, taker)
            self.traded(Trade(taker.symbol, maker.price, qty, buyer.account, seller.account))
            if maker.visible == 0:
                self.remove(maker)
                if maker.leaves:  # iceberg: the next slice joins the back of the level
                    self.add(maker)

    def prevent_self_trade(self, maker: Order, taker: Order) -> bool:
        """The taker's STP mode against a same-firm maker; False when the taker is done."""
        if taker.stp == StpMode.DECREMENT:
            overlap = min(taker.leaves, maker.leaves)
            self.note(maker)
            maker.leaves -= overlap
            taker.leaves -= overlap
            if maker.leaves == 0:
                self.remove(maker)
                self.canceled(maker, overlap, CancelReason.STP_DECREMENT)
            else:
                maker.visible = min(maker.visible, maker.leaves)
                self.restated(maker)
            if taker.leaves == 0:
                self.canceled(taker, overlap, CancelReason.STP_DECREMENT)
                return False
            self.restated(taker)
            return True
        if taker.stp in (StpMode.CANCEL_RESTING, StpMode.CANCEL_BOTH):
            self.remove(maker)
            self.canceled(maker, maker.leaves, CancelReason.STP_RESTING)
        if taker.stp == StpMode.CANCEL_RESTING:
            return True
        self.canceled(taker, taker.leaves, CancelReason.STP_INCOMING)
        taker.leaves = 0
        return False

    # -- cancel, amend, mass cancel ----------------------------------------------------------

    def owned(self, cmd: CancelOrder | AmendOrder, reason: Reject | None) -> Order | None:
        order = None if reason else self.find(cmd.order_id)
        if order is not None and order.account == cmd.account:
            return order
        order_id = cmd.order_id if is_int(cmd.order_id) else 0
        self.emit(ev.CancelRejected, text(cmd.account), order_id,
                  reason or Reject.UNKNOWN_ORDER)
        return None

    def cancel(self, cmd: CancelOrder) -> None:
        valid = is_int(cmd.ts_us) and is_name(cmd.account) and is_int(cmd.order_id)
        stop = self.find_stop(cmd.order_id, cmd.account) if valid else None
        if stop is not None:
            self.drop_stop(stop, CancelReason.REQUESTED)
            return
        order = self.owned(cmd, None if valid else Reject.INVALID_FIELD)
        if order is not None:
            self.remove(order)
            self.canceled(order, order.leaves, CancelReason.REQUESTED)

    def amend(self, cmd: AmendOrder) -> None:
        reason = None
        if not (is_int(cmd.ts_us) and is_name(cmd.account) and is_int(cmd.order_id)
                and optional(is_name, cmd.cl_ord_id)):
            reason = Reject.INVALID_FIELD
        elif not positive(cmd.qty):
            reason = Reject.INVALID_QUANTITY
        elif not is_int(cmd.price):
            reason = Reject.INVALID_PRICE
        if reason is None and self.find_stop(cmd.order_id, cmd.account) is not None:
            reason = Reject.STOP_NOT_AMENDABLE
        order = self.owned(cmd, reason)
        if order is None:
            return
        reason = self.amend_reject(cmd, order)
        if reason is not None:
            self.emit(ev.CancelRejected, cmd.account, cmd.order_id, reason)
            return
        filled = order.qty - order.leaves
        if cmd.qty <= filled:
            self.remove(order)
            self.canceled(order, order.leaves, CancelReason.AMENDED_BELOW_FILLED)
            return
        new_leaves = cmd.qty - filled
        if cmd.cl_ord_id is not None:
            order.cl_ord_id = cmd.cl_ord_id
        if cmd.price == order.price and new_leaves <= order.leaves:
            self.note(order)
            order.qty, order.leaves = cmd.qty, new_leaves
            order.visible = min(order.visible, new_leaves)
            self.replaced(order, True)
            return
        self.remove(order)
        order.qty, order.price, order.leaves = cmd.qty, cmd.price, new_leaves
        self.replaced(order, False)
        if not self.in_call(order.symbol):
            self.match(order, order.price)
        if order.leaves:
            self.add(order)

    def replaced(self, order: Order, kept_priority: bool) -> None:
        self.emit(ev.OrderReplaced, order.order_id, order.account, order.cl_ord_id, order.symbol,
                  order.qty, order.price, order.leaves, kept_priority)

    def amend_reject(self, cmd: AmendOrder, order: Order) -> Reject | None:
        instrument = self.instruments[order.symbol]
        # the doc does not place BLOCKED among an amend's checks: the engine's choice, first
        if self.is_blocked(order.account):
            return Reject.BLOCKED
        if instrument.state == TradingState.HALTED:
            return Reject.MARKET_HALTED
        if instrument.state == TradingState.CLOSED:
            return Reject.MARKET_CLOSED
        if cmd.qty > instrument.max_qty:
            return Reject.QUANTITY_ABOVE_MAX
        filled = order.qty - order.leaves
        if filled < cmd.qty < instrument.min_qty:
            return Reject.QUANTITY_BELOW_MIN
        reason = (self.price_reject(cmd.price, instrument)
                  or self.limits_reject(self.accounts[order.account], instrument, order.side,
                                        cmd.qty, cmd.price)
                  or self.amend_credit_reject(order, cmd.price, max(cmd.qty - filled, 0))
                  or self.amend_capacity_reject(order, cmd.price, max(cmd.qty - filled, 0)))
        if reason is not None:
            return reason
        if (cmd.cl_ord_id is not None and cmd.cl_ord_id != order.cl_ord_id
                and cmd.cl_ord_id in self.live_ids(order.account)):
            return Reject.DUPLICATE_ORDER
        if (cmd.qty, cmd.price) == (order.qty, order.price) and cmd.cl_ord_id in (
                None, order.cl_ord_id):
            return Reject.AMEND_NO_CHANGE
        best = self.best(order.symbol, order.side.opposite)
        if (order.post_only and not self.in_call(order.symbol) and best is not None
                and reaches(order.side, cmd.price, best.price)):
            return Reject.WOULD_TAKE
        return None

    def mass_cancel(self, cmd: MassCancel) -> None:
        if not (is_int(cmd.ts_us) and is_name(cmd.account) and optional(is_name, cmd.symbol)
                and optional(lambda s: is_member(s, Side), cmd.side)
                and is_member(cmd.reason, CancelReason) and cmd.reason in MASS_CANCEL_REASONS):
            return self.reject_command(Reject.INVALID_FIELD)
        if cmd.account not in self.accounts:
            return self.reject_command(Reject.UNKNOWN_ACCOUNT)
        if cmd.symbol is not None and cmd.symbol not in self.instruments:
            return self.reject_command(Reject.UNKNOWN_INSTRUMENT)
        doomed = sorted(
            (o for o in [*self.all_orders(), *self.stops] if o.account == cmd.account
             and cmd.symbol in (None, o.symbol) and cmd.side in (None, o.side)),
            key=lambda o: o.order_id)  # "in the order they were entered"
        side = None if cmd.side is None else Side(cmd.side)
        self.emit(ev.MassCanceled, cmd.account, cmd.symbol, side, len(doomed))
        self.cancel_all(doomed, CancelReason(cmd.reason))
        return None

    def cancel_all(self, doomed: list[Any], reason: CancelReason) -> None:
        for order in doomed:
            if isinstance(order, Order):
                self.remove(order)
                self.canceled(order, order.leaves, reason)
            else:
                self.drop_stop(order, reason)

    # -- operator commands -------------------------------------------------------------------

    def band_reject(self, reference: Any, band_ticks: Any, tick: int,
                    price_range: tuple[int, int]) -> Reject | None:
        if not (optional(is_int, reference) and optional(is_int, band_ticks)):
            return Reject.INVALID_FIELD
        if band_ticks is not None and band_ticks < 0:
            return Reject.INVALID_INSTRUMENT_SPEC
        if reference is not None and reference % tick != 0:
            return Reject.INVALID_PRICE_INCREMENT  # the engine's code; the doc lists none
        if reference is not None and not price_range[0] <= reference <= price_range[1]:
            return Reject.PRICE_OUT_OF_RANGE
        return None

    def spec_reject(self, cmd: AddInstrument) -> Reject | None:
        """An instrument's spec checked, and its symbol not listed yet."""
        texts = (cmd.commodity, cmd.grade, cmd.location, cmd.delivery_period, cmd.unit)
        if not (is_int(cmd.ts_us) and is_name(cmd.symbol) and operator_state(cmd.state)
                and all(type(t) is str and len(t) <= 200 and t.isprintable() for t in texts)
                and optional(is_int, cmd.min_price) and optional(is_int, cmd.max_price)):
            return Reject.INVALID_FIELD
        if not (positive(cmd.lot_size) and positive(cmd.tick_size)
                and is_int(cmd.price_decimals) and 0 <= cmd.price_decimals <= 6
                and is_int(cmd.min_qty) and is_int(cmd.max_qty)
                and 0 < cmd.min_qty <= cmd.max_qty):
            return Reject.INVALID_INSTRUMENT_SPEC
        price_range = spec_range(cmd)
        if price_range is None:
            return Reject.INVALID_INSTRUMENT_SPEC
        reason = self.band_reject(cmd.reference_price, cmd.band_ticks, cmd.tick_size,
                                  price_range)
        if reason is None and cmd.symbol in self.instruments:
            reason = Reject.DUPLICATE_INSTRUMENT
        return reason

    def list_instrument(self, cmd: AddInstrument) -> None:
        low, high = spec_range(cmd)  # type: ignore[misc]  # checked by spec_reject
        self.instruments[cmd.symbol] = Instrument(
            cmd.symbol, cmd.tick_size, cmd.min_qty, cmd.max_qty, TradingState(cmd.state),
            cmd.reference_price, cmd.band_ticks, cmd.lot_size, cmd.price_decimals, low, high)
        self.sides[(cmd.symbol, BUY)] = []
        self.sides[(cmd.symbol, SELL)] = []
        if cmd.state in CALLS:  # in its call from the start
            self.shown[cmd.symbol] = ()
            self.recheck.add(cmd.symbol)

    def add_instrument(self, cmd: AddInstrument) -> None:
        reason = self.spec_reject(cmd)
        if reason is not None:
            return self.reject_command(reason)
        self.list_instrument(cmd)
        self.emit(ev.InstrumentAdded, cmd.symbol)
        return None

    def import_instruments(self, cmd: ImportInstruments) -> None:
        """All or none: each row is checked as an AddInstrument would be, and against the rows
        before it; the first bad one rejects the command and is named (1-based)."""
        self.bad_import_row = 0
        if not (is_int(cmd.ts_us) and type(cmd.rows) in (list, tuple)):
            return self.reject_command(Reject.INVALID_FIELD)
        listed: list[AddInstrument] = []
        for number, row in enumerate(cmd.rows, start=1):
            self.bad_import_row = number
            # the engine's choice: a row is a list or tuple of an AddInstrument's 9 to 16
            # fields after ts_us; anything else is INVALID_FIELD
            if type(row) not in (list, tuple) or not 9 <= len(row) <= 16:
                return self.reject_command(Reject.INVALID_FIELD)
            spec = AddInstrument(cmd.ts_us, *row)
            reason = self.spec_reject(spec)
            if reason is None and any(s.symbol == spec.symbol for s in listed):
                reason = Reject.DUPLICATE_INSTRUMENT
            if reason is not None:
                return self.reject_command(reason)
            listed.append(spec)
        self.bad_import_row = 0
        for spec in listed:
            self.list_instrument(spec)
        self.emit(ev.InstrumentsImported, len(listed))
        return None

    def set_trading_state(self, cmd: SetTradingState) -> None:
        if not (is_int(cmd.ts_us) and is_name(cmd.symbol) and operator_state(cmd.state)):
            return self.reject_command(Reject.INVALID_FIELD)
        instrument = self.instruments.get(cmd.symbol)
        if instrument is None:
            return self.reject_command(Reject.UNKNOWN_INSTRUMENT)
        self.enter(cmd.symbol, TradingState(cmd.state))
        if instrument.state == TradingState.CLOSED:
            in_book_order = [o for side in Side for price in self.prices(cmd.symbol, side)
                             for o in self.level(cmd.symbol, side, price)]
            for order in in_book_order:
                if order.tif == DAY:
                    self.expired(order)
            for stop in [s for s in self.stops if s.symbol == cmd.symbol and s.tif == DAY]:
                self.drop_stop(stop, None)
        return None

    def set_price_band(self, cmd: SetPriceBand) -> None:
        if not (is_int(cmd.ts_us) and is_name(cmd.symbol)):
            return self.reject_command(Reject.INVALID_FIELD)
        instrument = self.instruments.get(cmd.symbol)
        if instrument is None:
            return self.reject_command(Reject.UNKNOWN_INSTRUMENT)
        reason = self.band_reject(cmd.reference_price, cmd.band_ticks, instrument.tick,
                                  (instrument.min_price, instrument.max_price))
        if reason is not None:
            return self.reject_command(reason)
        instrument.reference, instrument.band_ticks = cmd.reference_price, cmd.band_ticks
        self.recheck.add(cmd.symbol)  # a call's figures follow the reference price
        self.emit(ev.PriceBandSet, cmd.symbol, cmd.reference_price, cmd.band_ticks)
        return None

    def limits_valid(self, cmd: AddAccount | SetAccountLimits) -> bool:
        return (is_int(cmd.ts_us) and is_name(cmd.account)
                and all(optional(positive, limit) for limit in (
                    cmd.max_order_qty, cmd.max_order_notional, cmd.max_open_orders)))

    def add_account(self, cmd: AddAccount) -> None:
        if not (self.limits_valid(cmd) and is_name(cmd.firm)):
            return self.reject_command(Reject.INVALID_FIELD)
        if cmd.account in self.accounts:
            return self.reject_command(Reject.DUPLICATE_ACCOUNT)
        self.accounts[cmd.account] = Account(
            cmd.firm, cmd.max_order_qty, cmd.max_order_notional, cmd.max_open_orders)
        self.firms.setdefault(cmd.firm, Firm())  # made with the first account naming it
        self.emit(ev.AccountAdded, cmd.account, cmd.firm)
        return None

    def set_account_limits(self, cmd: SetAccountLimits) -> None:
        if not self.limits_valid(cmd):
            return self.reject_command(Reject.INVALID_FIELD)
        account = self.accounts.get(cmd.account)
        if account is None:
            return self.reject_command(Reject.UNKNOWN_ACCOUNT)
        account.max_qty = cmd.max_order_qty
        account.max_notional = cmd.max_order_notional
        account.max_open = cmd.max_open_orders
        self.emit(ev.AccountLimitsSet, cmd.account, cmd.max_order_qty, cmd.max_order_notional,
                  cmd.max_open_orders)
        return None

    # -- firms: credit limits, kill switches, busts, trading days ----------------------------

    def is_blocked(self, account_name: str) -> bool:
        account = self.accounts[account_name]
        return account.blocked or self.firms[account.firm].blocked

    def credit_reject(self, firm_name: str, instrument: Instrument, side: int,
                      price: int | None, qty: int, replacing: Order | None = None) -> Reject | None:
        """A buy: open buy notional + net bought + the order's notional may not pass the firm's
        limit (all of it money: see Instrument.notional).
        For an amend, `replacing` is the order as it was: its old terms leave the open buys."""
        firm = self.firms[firm_name]
        if side != BUY or firm.credit_limit is None:
            return None
        if price is None:  # a market buy: at the band's edge; with no band it is refused
            price = instrument.band_edge(BUY)
            if price is None:
                return Reject.CREDIT_LIMIT
        if self.credit_used(firm_name, replacing) + instrument.notional(price, qty) > (
                firm.credit_limit):
            return Reject.CREDIT_LIMIT
        return None

    def credit_used(self, firm_name: str, leaving_out: Order | None = None) -> int:
        """The firm's open buy notional on every instrument (but `leaving_out`'s) plus its net
        bought notional."""
        open_buys = 0
        for o in self.all_orders():
            if o.firm == firm_name and o.side == BUY and o is not leaving_out:
                assert o.price is not None  # resting orders are limit orders
                open_buys += self.instruments[o.symbol].notional(o.price, o.leaves)
        return open_buys + self.firms[firm_name].net_bought

    def amend_credit_reject(self, order: Order, price: int, new_leaves: int) -> Reject | None:
        """Only an amend that adds exposure (the order's notional grows) is checked."""
        instrument = self.instruments[order.symbol]
        before = instrument.notional(order.price, order.leaves)  # type: ignore[arg-type]
        if instrument.notional(price, new_leaves) <= before:
            return None
        return self.credit_reject(order.firm, instrument, order.side, price, new_leaves,
                                  replacing=order)

    def capacity_reject(self, firm_name: str, instrument: Instrument, side: Side,
                        price: int | None, qty: int, leaving_out: Order | None = None
                        ) -> Reject | None:
        """The doc's day-notional capacity: what the firm traded today (busts too) plus what
        rests, plus the order at the most it may trade at, may not pass the capacity."""
        best = self.best(instrument.symbol, side.opposite)
        if price is None:  # a market order may trade anywhere in its trading range
            low, high = instrument.band() or (instrument.min_price, instrument.max_price)
            most = max(abs(low), abs(high))
        else:
            most = abs(price) if best is None else max(abs(price), abs(best.price))
        used = sum(abs(t.price) * t.qty * instrument_scale(self.instruments[t.symbol])
                   for t in self.trades.values()
                   if firm_name in (self.accounts[t.buyer].firm, self.accounts[t.seller].firm))
        used += sum(abs(o.price) * o.leaves * instrument_scale(self.instruments[o.symbol])
                    for o in self.all_orders()
                    if o.firm == firm_name and o is not leaving_out)  # type: ignore[arg-type]
        if used + most * qty * instrument_scale(instrument) > FIRM_DAY_NOTIONAL_MOST:
            return Reject.NOTIONAL_CAPACITY
        return None

    def amend_capacity_reject(self, order: Order, price: int, new_leaves: int) -> Reject | None:
        """An amend that loses priority enters anew (the order's old terms leave)."""
        if price == order.price and new_leaves <= order.leaves:
            return None
        return self.capacity_reject(order.firm, self.instruments[order.symbol], order.side,
                                    price, new_leaves, leaving_out=order)

    def trade_of(self, symbol: str, price: int, qty: int, buyer: str, seller: str) -> Trade:
        return Trade(symbol, price, qty, buyer, seller)

    def traded(self, trade: Trade) -> None:
        self.last[trade.symbol] = trade.price
        self.trades[self.next_trade_id] = trade
        self.next_trade_id += 1
        self.move_net_bought(trade, self.trade_notional(trade))

    def trade_notional(self, trade: Trade) -> int:
        return self.instruments[trade.symbol].notional(trade.price, trade.qty)

    def move_net_bought(self, trade: Trade, notional: int) -> None:
        """The buyer's firm has bought `notional` more, the seller's sold it."""
        self.firms[self.accounts[trade.buyer].firm].net_bought += notional
        self.firms[self.accounts[trade.seller].firm].net_bought -= notional

    def set_credit_limit(self, cmd: SetCreditLimit) -> None:
        # the engine's choice: a limit is positive (0 is INVALID_FIELD; None removes it)
        if not (is_int(cmd.ts_us) and is_name(cmd.firm) and optional(positive, cmd.credit_limit)):
            return self.reject_command(Reject.INVALID_FIELD)
        if cmd.firm not in self.firms:
            return self.reject_command(Reject.UNKNOWN_FIRM)
        self.firms[cmd.firm].credit_limit = cmd.credit_limit
        self.emit(ev.CreditLimitSet, cmd.firm, cmd.credit_limit)
        return None

    def set_kill_switch(self, cmd: SetKillSwitch) -> None:
        if not (is_int(cmd.ts_us) and cmd.scope in ("firm", "account") and is_name(cmd.name)
                and type(cmd.engaged) is bool):
            return self.reject_command(Reject.INVALID_FIELD)
        holder: Firm | Account | None
        if cmd.scope == "firm":
            holder, unknown = self.firms.get(cmd.name), Reject.UNKNOWN_FIRM
        else:
            holder, unknown = self.accounts.get(cmd.name), Reject.UNKNOWN_ACCOUNT
        if holder is None:
            return self.reject_command(unknown)
        holder.blocked = cmd.engaged
        def holder_of(o: Any) -> str:
            return self.accounts[o.account].firm if cmd.scope == "firm" else o.account
        held = sorted((o for o in [*self.all_orders(), *self.stops] if holder_of(o) == cmd.name),
                      key=lambda o: o.order_id) if cmd.engaged else []
        self.emit(ev.KillSwitchSet, cmd.scope, cmd.name, cmd.engaged, len(held))
        self.cancel_all(held, CancelReason.KILL_SWITCH)
        return None

    def bust_trade(self, cmd: BustTrade) -> None:
        # the engine's choice: a reason is text of at most 200 characters
        if not (is_int(cmd.ts_us) and is_int(cmd.trade_id) and type(cmd.reason) is str
                and len(cmd.reason) <= 200 and cmd.reason.isprintable()):
            return self.reject_command(Reject.INVALID_FIELD)
        trade = self.trades.get(cmd.trade_id)
        if trade is None:
            return self.reject_command(Reject.UNKNOWN_TRADE)
        if cmd.trade_id in self.busted:
            return self.reject_command(Reject.TRADE_ALREADY_BUSTED)
        self.busted.add(cmd.trade_id)
        self.move_net_bought(trade, -self.trade_notional(trade))
        self.emit(ev.TradeBusted, cmd.trade_id, trade.symbol, trade.price, trade.qty,
                  trade.buyer, trade.seller, cmd.reason)
        return None

    def start_trading_day(self, cmd: StartTradingDay) -> None:
        if not is_int(cmd.ts_us):
            return self.reject_command(Reject.INVALID_FIELD)
        for firm in self.firms.values():
            firm.net_bought = 0
        self.trades, self.busted = {}, set()
        self.emit(ev.TradingDayStarted)
        return None
