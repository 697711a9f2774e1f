"""The matching engine: one pure, deterministic state machine for every instrument of the venue.

`Engine.apply(command)` validates the command, changes the state, and returns the events it
caused; nothing else changes the state, and nothing is read from the world (time comes in the
command). Equal command lists give equal event lists, byte for byte, and equal digests.

Numbering: the command takes the next `seq` (kept in `last_command_seq`), then each event the
ones after it. Event order within a command: expiries that the command's time caused, the
outcome, trades and order changes in the order they happened, then one `BookChanged` per level
whose displayed total the command changed, in the order the levels were first touched.

Rules, in brief (docs/engine.md has them all): price-time priority; a trade is at the resting
order's price; market orders never rest and stop at the price band; IOC and FOK never rest, FOK
trades all or nothing; post-only never takes; an iceberg refill goes to the back of its level;
self-trade prevention is chosen by the aggressor and applies between orders of one firm; a
rejected command changes nothing but the sequence number. Account and credit limits are on
notional, money in 10**-6 of the currency (`Instrument.notional`), so a firm's exposure adds up
across instruments of any lot size and price decimals.

Here: order entry, matching, resting, expiry, events and invariants. Beside it: cancels, amends
and mass cancels (amendments.py), the operator's commands (venue.py), the pre-trade rules both
order entry and amends use (pretrade.py), and field checks (validation.py).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from exchange.engine import amendments, validation, venue
from exchange.engine.book import Book, Books, Ladder, Level, Order
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
from exchange.engine.digest import StateDigest
from exchange.engine.enums import OrdType, Side, StpMode, TimeInForce, TradingState, members
from exchange.engine.events import (
    BookChanged,
    CancelRejected,
    CommandRejected,
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderRejected,
    OrderReplaced,
    OrderRestated,
    TradeExecuted,
)
from exchange.engine.instrument import (
    FIRM_NOTIONAL_CAPACITY,
    KEY_ROLES,
    Account,
    ApiKey,
    Firm,
    Instrument,
)
from exchange.engine.pretrade import (
    RESTING_TIFS,
    STATE_REJECT,
    band_edge,
    check_limits,
    crosses,
    fillable,
)
from exchange.engine.reasons import CancelReason, Reject

# Members as module constants: `Enum.MEMBER` is a slow attribute lookup on the hot paths.
BUY, SELL = Side
LIMIT, MARKET = OrdType
GTC, DAY, GTD, IOC, FOK = TimeInForce
CANCEL_RESTING, CANCEL_INCOMING, CANCEL_BOTH, DECREMENT = StpMode
OPEN, HALTED, CLOSED = TradingState
# Validated ints to enum members by lookup: Enum.__call__ costs a microsecond.
_SIDE, _ORD_TYPE, _TIF, _STP = members(Side), members(OrdType), members(TimeInForce), members(StpMode)
# Events on the hot paths are built with tuple.__new__, skipping the NamedTuple's Python-level
# __new__ (half the cost of an event); the field order is the class's, as everywhere.
_new = tuple.__new__


class Engine:
    """All instruments, books, accounts and live orders of one venue."""

    def __init__(self) -> None:
        self.seq = 0
        self.last_command_seq = 0
        self.now_us = 0
        self.next_order_id = 1
        self.next_trade_id = 1
        self.next_priority = 1  # time priority numbers, given as orders join the back of a level
        self.instruments: dict[str, Instrument] = {}
        self.books = Books()  # a listed instrument's book is made with its first use
        self.accounts: dict[str, Account] = {}
        self.orders: dict[int, Order] = {}
        self.firms: dict[str, Firm] = {}
        self.keys: dict[str, ApiKey] = {}  # API keys by id, revoked ones included
        # the trading day's trades, for busts: trade_id -> (symbol, price, qty, buyer, seller)
        self.day_trades: dict[int, tuple[str, int, int, str, str]] = {}
        self.busted: set[int] = set()
        self.gtd_queue: list[tuple[int, int]] = []  # heap of (expire_at_us, order_id), lazy
        self.state_digest = StateDigest()
        self._events: list[Event] = []
        # levels this command changed: key -> [the level now, its displayed total before]
        self._touched: dict[tuple[str, Side, int], list] = {}

    # -- the one entry point ---------------------------------------------------------------

    def apply(self, command: Command) -> list[Event]:
        """Carry out one command; return its events. Never raises for bad input."""
        self.seq += 1
        self.last_command_seq = self.seq
        events: list[Event] = []
        self._events = events
        handler = _HANDLERS.get(type(command))
        ts = command.ts_us if handler is not None else None
        if type(ts) is int and self.now_us < ts <= validation.INT64_MAX:  # never goes back
            self.now_us = ts
        if self.gtd_queue and self.gtd_queue[0][0] <= self.now_us:
            self._expire_due()
        if handler is None:
            self._reject_command(Reject.INVALID_FIELD, f"not a command: {type(command).__name__}")
        else:
            handler(self, command)
        if self._touched:
            self._publish_book_changes()
        return events

    def digest(self) -> str:
        """SHA-256 (hex) of the canonical state. Incremental: costs O(what changed since)."""
        firms = tuple(firm.canonical() for firm in self.firms.values())
        day = self.day_trades  # trade ids ascend in insertion order: first and last are O(1)
        trades = (len(day), next(iter(day), 0), next(reversed(day), 0), tuple(sorted(self.busted)))
        header = (self.seq, self.now_us, self.next_order_id, self.next_trade_id,
                  self.next_priority, firms, trades)
        return self.state_digest.value(header)

    def day_notional_of(self, firm: str) -> int:
        """The firm's notional traded today, counted afresh from the day's trades. O(trades)."""
        total = 0
        for symbol, price, qty, buyer, seller in self.day_trades.values():
            if firm in (self.accounts[buyer].firm, self.accounts[seller].firm):
                total += abs(price) * qty * self.instruments[symbol].notional_scale
        return total

    def recount_notional(self) -> None:
        """Count every firm's day and resting notional from the state (after a snapshot load:
        they follow from it, so a snapshot does not hold them). O(trades + orders)."""
        for name, firm in self.firms.items():
            firm.day_notional = self.day_notional_of(name)
            firm.open_notional = firm.resting_notional(self.instruments)

    # -- orders ----------------------------------------------------------------------------

    def _submit(self, cmd: SubmitOrder) -> None:
        reason = validation.submit_fields(cmd)
        account = self.accounts.get(cmd.account) if reason is None else None
        instrument = self.instruments.get(cmd.symbol) if account is not None else None
        if reason is None and instrument is not None and account is not None:
            reason = self._check_order(cmd, account, instrument)
        elif reason is None:
            reason = Reject.UNKNOWN_ACCOUNT if account is None else Reject.UNKNOWN_INSTRUMENT
        if reason is not None:
            self._reject_order(cmd, reason)
            return
        assert account is not None and instrument is not None
        order = Order(
            self.next_order_id, cmd.account, account.firm, cmd.cl_ord_id, cmd.symbol,
            _SIDE[cmd.side], _ORD_TYPE[cmd.ord_type], cmd.price, cmd.qty, cmd.display_qty,
            _TIF[cmd.tif], cmd.expire_at_us, cmd.post_only, _STP[cmd.stp],
        )
        self.next_order_id += 1
        self.seq += 1
        self._events.append(_new(OrderAccepted, (
            self.seq, self.now_us, order.order_id, order.account, order.cl_ord_id, order.symbol,
            order.side, order.ord_type, order.qty, order.price, order.tif, order.expire_at_us,
            order.post_only, order.display_qty, order.stp,
        )))
        book = self.books[cmd.symbol]
        market = order.ord_type is MARKET
        best = (book.asks if order.side is BUY else book.bids).best()
        if best is not None and (market or crosses(order.side, order.price, best.price)):
            self._match(book, order, band_edge(instrument, order.side) if market else order.price)
            if not order.leaves:
                return
        if not market and order.tif in RESTING_TIFS:
            self._rest(book, order, account)
            return
        opposite = book.asks if order.side is BUY else book.bids
        stopped_by_band = market and opposite.levels
        why = CancelReason.PRICE_BAND if stopped_by_band else CancelReason.IOC_REMAINDER
        self._canceled(order, order.leaves, why)

    def _check_order(self, cmd: SubmitOrder, account: Account,
                     instrument: Instrument) -> Reject | None:
        """The checks after the field types, in a fixed order; None if the order may enter."""
        if account.blocked or self.firms[account.firm].blocked:
            return Reject.BLOCKED
        if instrument.state is not OPEN:
            return STATE_REJECT[instrument.state]
        reason = self._check_terms(cmd, instrument)
        if reason is None and (account.max_order_qty or account.max_order_notional):
            reason = check_limits(account, instrument, cmd.side, cmd.qty, cmd.price)
        firm = self.firms[account.firm]
        if reason is None and cmd.side == BUY and firm.credit_limit:
            reason = self._check_credit(account, instrument, cmd.side, cmd.price, cmd.qty)
        if reason is None:
            best = self.books[cmd.symbol].ladder(_SIDE[cmd.side].opposite).best()
            worst = instrument.worst_notional(cmd.price, cmd.qty,
                                              None if best is None else best.price)
            if worst > firm.day_room():
                reason = Reject.NOTIONAL_CAPACITY
        if reason is not None:
            return reason
        if cmd.cl_ord_id in account.live_cl_ord_ids:
            return Reject.DUPLICATE_ORDER
        may_rest = cmd.ord_type == LIMIT and cmd.tif in RESTING_TIFS
        if (may_rest and account.max_open_orders is not None
                and len(account.open_orders) >= account.max_open_orders):
            return Reject.ACCOUNT_MAX_OPEN_ORDERS
        if cmd.ord_type == MARKET or cmd.post_only or cmd.tif == FOK:
            return self._check_book(cmd, account, instrument)
        return None

    def _check_terms(self, cmd: SubmitOrder, instrument: Instrument) -> Reject | None:
        """The order's own terms against the instrument: quantity, price, TIF, iceberg."""
        if cmd.qty < instrument.min_qty:
            return Reject.QUANTITY_BELOW_MIN
        if cmd.qty > instrument.max_qty:
            return Reject.QUANTITY_ABOVE_MAX
        if cmd.ord_type == LIMIT:
            reason = self._check_price(cmd.price, instrument)
            if reason is not None:
                return reason
        elif cmd.price is not None:
            return Reject.INVALID_PRICE
        elif cmd.tif not in (IOC, FOK) or cmd.post_only:
            return Reject.INVALID_TIF
        if cmd.post_only and cmd.tif in (IOC, FOK):
            return Reject.INVALID_TIF
        if (cmd.tif == GTD) != (cmd.expire_at_us is not None):
            return Reject.INVALID_EXPIRE_TIME
        if cmd.expire_at_us is not None and cmd.expire_at_us <= self.now_us:
            return Reject.INVALID_EXPIRE_TIME
        if cmd.display_qty is not None and (cmd.display_qty > cmd.qty
                                            or cmd.tif not in RESTING_TIFS):
            return Reject.INVALID_DISPLAY_QTY
        return None

    def _check_credit(self, account: Account, instrument: Instrument, side: Side | int,
                      price: int | None, qty: int, replacing: Order | None = None) -> Reject | None:
        """A buy may not take the firm's open buy notional (over all its instruments) plus its
        net bought notional plus this order's notional past its credit limit. A market buy is
        priced at the band's edge; with no band it cannot be bounded, so a firm with a limit may
        not send one. Cost: O(the firm's open orders)."""
        firm = self.firms[account.firm]
        if side != BUY or firm.credit_limit is None:
            return None
        if price is None:
            price = band_edge(instrument, BUY)
            if price is None:
                return Reject.CREDIT_LIMIT
        exposure = (firm.open_buy_notional(self.instruments) + firm.net_bought
                    + instrument.notional(price, qty))
        if replacing is not None:
            old_price: int = replacing.price  # type: ignore[assignment]  # it rests: never None
            exposure -= instrument.notional(old_price, replacing.leaves)
        return Reject.CREDIT_LIMIT if exposure > firm.credit_limit else None

    @staticmethod
    def _check_price(price: int | None, instrument: Instrument) -> Reject | None:
        if price is None:
            return Reject.INVALID_PRICE
        if price % instrument.tick_size:
            return Reject.INVALID_PRICE_INCREMENT
        if not instrument.min_price <= price <= instrument.max_price:
            return Reject.PRICE_OUT_OF_RANGE
        band = instrument.band
        if band is not None and not band[0] <= price <= band[1]:
            return Reject.PRICE_OUTSIDE_BAND
        return None

    def _check_book(self, cmd: SubmitOrder, account: Account,
                    instrument: Instrument) -> Reject | None:
        """Checks against the book at this moment: liquidity, post-only, fill-or-kill."""
        book = self.books[cmd.symbol]
        opposite = book.asks if cmd.side == BUY else book.bids
        best = opposite.best()
        if cmd.ord_type == MARKET and best is None:
            return Reject.NO_LIQUIDITY
        if cmd.post_only and best is not None and crosses(cmd.side, cmd.price, best.price):
            return Reject.WOULD_TAKE
        if cmd.tif == FOK:
            limit = cmd.price if cmd.ord_type == LIMIT else band_edge(instrument, cmd.side)
            if not fillable(opposite, cmd.side, limit, cmd.qty, account.firm, cmd.stp):
                return Reject.FOK_NOT_FILLABLE
        return None

    def _match(self, book: Book, taker: Order, limit: int | None) -> None:
        """Trade `taker` against the opposite side, best price first, up to `limit` (None: no
        limit). Ends when the taker is done, the side is empty or past the limit, or a
        self-trade rule cancels the taker. The one loop that reads top to bottom."""
        buying = taker.side is BUY
        ladder = book.asks if buying else book.bids
        symbol = book.symbol
        events = self._events
        firms = self.firms
        changed = self.state_digest.changed
        scale = self.instruments[symbol].notional_scale  # once per call: this is the hot path
        while taker.leaves:
            level = ladder.best()
            if level is None:
                break
            price = level.price
            if limit is not None and (price > limit if buying else price < limit):
                break
            self._touch(symbol, ladder.side, level)
            orders = level.orders
            while taker.leaves and orders:
                maker = orders[next(iter(orders))]
                if maker.firm == taker.firm:
                    if not self._prevent_self_trade(ladder, level, maker, taker):
                        break
                    continue
                qty = min(maker.visible, taker.leaves)
                maker.visible -= qty
                maker.leaves -= qty
                level.total -= qty
                taker.leaves -= qty
                self.seq += 1
                events.append(_new(TradeExecuted, (
                    self.seq, self.now_us, self.next_trade_id, symbol, price, qty, taker.side,
                    maker.order_id, maker.account, maker.leaves,
                    taker.order_id, taker.account, taker.leaves,
                )))
                self.day_trades[self.next_trade_id] = (
                    (symbol, price, qty, taker.account, maker.account) if buying
                    else (symbol, price, qty, maker.account, taker.account))
                self.next_trade_id += 1
                bought = (price if buying else -price) * qty * scale  # the taker's firm
                traded = abs(bought)
                taker_firm, maker_firm = firms[taker.firm], firms[maker.firm]
                taker_firm.net_bought += bought
                taker_firm.day_notional += traded
                maker_firm.net_bought -= bought
                maker_firm.day_notional += traded
                maker_firm.open_notional -= traded
                if maker.visible:
                    changed[maker.order_id] = maker
                    continue
                if maker.leaves:  # iceberg: next slice, at the back of the level
                    maker.refill()
                    maker.priority = self.next_priority
                    self.next_priority += 1
                    level.total += maker.visible
                    orders.move_to_end(maker.order_id)
                    changed[maker.order_id] = maker
                else:
                    self._unindex(maker)
                    del orders[maker.order_id]
            if not orders:
                ladder.drop(level)

    def _prevent_self_trade(self, ladder: Ladder, level: Level, maker: Order, taker: Order) -> bool:
        """Apply the taker's STP mode to a same-firm maker; False when the taker is done."""
        mode = taker.stp
        if mode is DECREMENT:
            overlap = min(taker.leaves, maker.leaves)
            taker.leaves -= overlap
            if overlap < maker.leaves:
                maker.leaves -= overlap
                self._resting_notional_changed(maker, -overlap)
                shown = min(maker.visible, maker.leaves)
                level.total -= maker.visible - shown
                maker.visible = shown
                self.state_digest.changed[maker.order_id] = maker
                self._restated(maker, CancelReason.STP_DECREMENT)
            else:
                self._remove_resting(level, maker, overlap, CancelReason.STP_DECREMENT)
            if taker.leaves:
                self._restated(taker, CancelReason.STP_DECREMENT)
                return True
            self._canceled(taker, overlap, CancelReason.STP_DECREMENT)
            return False
        if mode is not CANCEL_INCOMING:
            self._remove_resting(level, maker, maker.leaves, CancelReason.STP_RESTING)
        if mode is CANCEL_RESTING:
            return True
        self._canceled(taker, taker.leaves, CancelReason.STP_INCOMING)
        taker.leaves = 0
        return False

    def _rest(self, book: Book, order: Order, account: Account) -> None:
        """Put a live order at the back of its level and into every index."""
        order.refill()
        order.priority = self.next_priority
        self.next_priority += 1
        ladder = book.bids if order.side is BUY else book.asks
        level = ladder.level_for(order.price)  # type: ignore[arg-type]
        self._touch(book.symbol, order.side, level)
        level.append(order)
        self.orders[order.order_id] = order
        self.state_digest.changed[order.order_id] = order
        account.open_orders[order.order_id] = order
        self._resting_notional_changed(order, order.leaves)
        account.live_cl_ord_ids[order.cl_ord_id] = order.order_id
        if order.expire_at_us is not None:
            heapq.heappush(self.gtd_queue, (order.expire_at_us, order.order_id))

    def _resting_notional_changed(self, order: Order, leaves_change: int) -> None:
        """Keep the firm's open notional as resting |price| x leaves when a resting order's
        leaves change other than by a trade (which _match counts itself)."""
        scale = self.instruments[order.symbol].notional_scale
        self.firms[order.firm].open_notional += abs(order.price) * leaves_change * scale  # type: ignore[arg-type]

    def _unindex(self, order: Order) -> None:
        self._resting_notional_changed(order, -order.leaves)
        del self.orders[order.order_id]
        self.state_digest.changed[order.order_id] = None
        account = self.accounts[order.account]
        del account.open_orders[order.order_id]
        del account.live_cl_ord_ids[order.cl_ord_id]

    def _take_out(self, order: Order) -> None:
        """Remove a resting order from its level (dropping the level if emptied) and indexes."""
        book = self.books[order.symbol]
        ladder = book.ladder(order.side)
        level = ladder.levels[order.price]  # type: ignore[index]
        self._touch(book.symbol, order.side, level)
        level.remove(order)
        if not level.orders:
            ladder.drop(level)
        self._unindex(order)

    def _remove_resting(self, level: Level, order: Order, qty: int, reason: CancelReason) -> None:
        """Cancel a maker met inside the matching loop (its level is already touched; the loop
        drops the level if this empties it)."""
        level.remove(order)
        self._unindex(order)
        self._canceled(order, qty, reason)

    def _expire_due(self) -> None:
        """Expire GTD orders whose time is at or before the engine clock, earliest first."""
        queue = self.gtd_queue
        while queue and queue[0][0] <= self.now_us:
            _, order_id = heapq.heappop(queue)
            order = self.orders.get(order_id)
            if order is not None:  # else it already left the book
                self._expire(order)

    def _expire(self, order: Order) -> None:
        self._take_out(order)
        self.seq += 1
        self._events.append(OrderExpired(
            self.seq, self.now_us, order.order_id, order.account, order.symbol, order.leaves))

    # -- time ----------------------------------------------------------------------------

    def _orders_of(self, accounts: list[Account]) -> list[Order]:
        """The live orders of these accounts, in order-id (entry) order."""
        found = [order for account in accounts for order in account.open_orders.values()]
        return sorted(found, key=lambda order: order.order_id)  # type: ignore[attr-defined]

    def _expire_orders(self, cmd: ExpireOrders) -> None:
        """Nothing beyond what `apply` already did (advancing the clock expires what is due),
        but a time that is no 64-bit int is refused."""
        if not validation.is_int(cmd.ts_us):
            self._reject_command(Reject.INVALID_FIELD, "expire orders")

    # -- events ----------------------------------------------------------------------------

    def _touch(self, symbol: str, side: Side, level: Level) -> None:
        """Note a level about to change, with its displayed total before the command. A level
        emptied and made anew in one command keeps its first `before` and follows the new one."""
        key = (symbol, side, level.price)
        seen = self._touched.get(key)
        if seen is None:
            self._touched[key] = [level, level.total]
        else:
            seen[0] = level

    def _publish_book_changes(self) -> None:
        """One BookChanged per touched level whose total moved. (A level that was dropped is
        empty: only empty levels are ever dropped.)"""
        touched, self._touched = self._touched, {}
        events = self._events
        for key, (level, before) in touched.items():
            total = level.total if level.orders else 0
            if total != before:
                self.seq += 1
                events.append(_new(BookChanged, (self.seq, self.now_us, *key, total)))

    def _emit(self, event_type: type, *fields: object) -> None:
        """Append an event of `event_type` with the next seq, the clock, then `fields`."""
        self.seq += 1
        self._events.append(_new(event_type, (self.seq, self.now_us, *fields)))

    def _canceled(self, order: Order, qty: int, reason: CancelReason) -> None:
        self.seq += 1
        self._events.append(_new(OrderCanceled, (
            self.seq, self.now_us, order.order_id, order.account, order.symbol, qty, reason)))

    def _restated(self, order: Order, reason: CancelReason) -> None:
        self.seq += 1
        self._events.append(OrderRestated(
            self.seq, self.now_us, order.order_id, order.account, order.symbol, order.leaves,
            reason))

    def _replaced(self, order: Order, kept_priority: bool) -> None:
        self.seq += 1
        self._events.append(OrderReplaced(
            self.seq, self.now_us, order.order_id, order.account, order.cl_ord_id, order.symbol,
            order.qty, order.price, order.leaves, kept_priority))  # type: ignore[arg-type]

    def _reject_order(self, cmd: SubmitOrder, reason: Reject) -> None:
        self.seq += 1
        self._events.append(OrderRejected(
            self.seq, self.now_us, _text(cmd.account), _text(cmd.cl_ord_id), _text(cmd.symbol),
            reason))

    def _reject_cancel(self, cmd: CancelOrder | AmendOrder, reason: Reject) -> None:
        order_id = cmd.order_id if validation.is_int(cmd.order_id) else 0
        self.seq += 1
        self._events.append(CancelRejected(
            self.seq, self.now_us, _text(cmd.account), order_id, reason))

    def _reject_command(self, reason: Reject, detail: str) -> None:
        self.seq += 1
        detail = detail if detail.isprintable() else ascii(detail)  # always encodable
        self._events.append(CommandRejected(self.seq, self.now_us, reason, detail[:200]))

    # -- invariants ------------------------------------------------------------------------

    def check(self) -> None:
        """Assert every invariant of the whole engine. O(state); for tests, never hot paths."""
        resting: dict[int, Order] = {}
        for symbol, book in self.books.items():
            assert book.symbol == symbol and symbol in self.instruments
            book.check()
            for order in book.orders():
                assert order.symbol == symbol and order.order_id not in resting
                assert order.order_id < self.next_order_id
                resting[order.order_id] = order
        assert resting.keys() == self.orders.keys()
        assert all(resting[i] is self.orders[i] for i in resting)
        for name, account in self.accounts.items():
            assert account.account == name
            for order_id, order in account.open_orders.items():
                assert self.orders[order_id] is order and order.account == name  # type: ignore[attr-defined]
            assert {o.cl_ord_id: i for i, o in account.open_orders.items()} == account.live_cl_ord_ids  # type: ignore[attr-defined]
        assert sum(len(a.open_orders) for a in self.accounts.values()) == len(self.orders)
        for name, firm in self.firms.items():
            assert firm.name == name and all(a.firm == name for a in firm.accounts)
            assert firm.open_notional == firm.resting_notional(self.instruments)
            assert firm.day_notional == self.day_notional_of(name)
            assert 0 <= firm.day_notional + firm.open_notional <= FIRM_NOTIONAL_CAPACITY
            assert abs(firm.net_bought) <= firm.day_notional
        assert sorted(a.account for f in self.firms.values() for a in f.accounts) == sorted(
            self.accounts)
        assert self.busted <= self.day_trades.keys()
        assert list(self.day_trades) == sorted(self.day_trades)  # the digest reads both ends
        for key_id, key in self.keys.items():
            assert key.key_id == key_id and key.role in KEY_ROLES
            assert (key.account in self.accounts) if key.role == "trader" else key.account is None
        queued = {order_id for _, order_id in self.gtd_queue}
        assert all(o.order_id in queued for o in self.orders.values() if o.expire_at_us is not None)
        assert all(o.expire_at_us > self.now_us for o in self.orders.values()  # type: ignore[operator]
                   if o.expire_at_us is not None)


def _text(value: object) -> str:
    """A field for a rejection event: the string itself if it is printable text, else a
    bounded repr of what came (repr escapes what is not printable, lone surrogates too, so
    the event is always encodable)."""
    if type(value) is str and value.isprintable():
        return value
    return repr(value)[:64]


_HANDLERS: dict[type, Callable[[Engine, Any], None]] = {
    SubmitOrder: Engine._submit,
    CancelOrder: amendments.cancel,
    AmendOrder: amendments.amend,
    MassCancel: amendments.mass_cancel,
    ExpireOrders: Engine._expire_orders,
    AddInstrument: venue.add_instrument,
    ImportInstruments: venue.import_instruments,
    SetTradingState: venue.set_trading_state,
    SetPriceBand: venue.set_price_band,
    AddAccount: venue.add_account,
    SetAccountLimits: venue.set_account_limits,
    SetCreditLimit: venue.set_credit_limit,
    SetKillSwitch: venue.set_kill_switch,
    BustTrade: venue.bust_trade,
    StartTradingDay: venue.start_trading_day,
    IssueKey: venue.issue_key,
    RevokeKey: venue.revoke_key,
}
