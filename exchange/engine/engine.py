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

The shape: order entry, matching, resting, cancels, expiry and events are the compiled core
(`core.pyx` and its collaborators, docs/engine.md "How the engine is built"); this class is
its Python face: the digest, the recounts and the invariants. Beside it, each in its own room
and using only the core's public methods: amends and mass cancels (amendments.py), the operator's commands (venue.py), the
pre-trade rules (pretrade.py) and field checks (validation.py), which run before any typed code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from exchange.engine import amendments, schedule, validation, venue
from exchange.engine.calls import Calls
from exchange.engine.commands import (
    AddAccount,
    AddInstrument,
    AmendOrder,
    BustTrade,
    ExpireOrders,
    ImportInstruments,
    IssueKey,
    MassCancel,
    RevokeKey,
    SetAccountLimits,
    SetCreditLimit,
    SetKillSwitch,
    SetPriceBand,
    SetTradingSchedule,
    SetTradingState,
    SetVolatilityBands,
    StartTradingDay,
    SubmitStopOrder,
)
from exchange.engine.core import Core
from exchange.engine.digest import StateDigest
from exchange.engine.enums import CALL_STATES, TradingState
from exchange.engine.instrument import FIRM_NOTIONAL_CAPACITY, KEY_ROLES
from exchange.engine.order import Order
from exchange.engine.reasons import CancelReason, Reject
from exchange.engine.stops import HeldStop, Stops


class Engine(Core):
    """All instruments, books, accounts and live orders of one venue.

    State (the core's, readable here): `seq`, `last_command_seq`, `now_us`, `next_order_id`,
    `next_trade_id`, `next_priority` (time priority numbers, given as orders join the back of
    a level); `instruments`, `books` (a listed instrument's book is made at its first use),
    `accounts`, `orders` (live, by id), `firms`, `keys` (revoked ones included), `day_trades`
    (trade_id -> (symbol, price, qty, buyer, seller), for busts), `busted`, `gtd_queue` (a
    lazy heap of (expire_at_us, order_id)) and `state_digest`.
    """

    def __init__(self) -> None:
        self.state_digest = StateDigest()
        self.handlers = _HANDLERS
        self.calls = Calls()  # trading phases, uncrosses, volatility interruptions
        self.stops = Stops()  # held stop orders
        self.matcher.interrupted = self.volatility_interruption

    def digest(self) -> str:
        """SHA-256 (hex) of the canonical state. Incremental: costs O(what changed since)."""
        firms = tuple(firm.canonical() for firm in self.firms.values())
        day = self.day_trades  # trade ids ascend in insertion order: first and last are O(1)
        trades = (len(day), next(iter(day), 0), next(reversed(day), 0), tuple(sorted(self.busted)))
        header: tuple = (self.seq, self.now_us, self.next_order_id, self.next_trade_id,
                         self.next_priority, firms, trades)
        if self.calls.tracked:  # absent until auctions or stops are used: digests stay as before
            header += ((self.calls.canonical(self), self.stops.parts.to_bytes(32, "big")),)
        return self.state_digest.value(header, self.order_parts())

    def volatility_interruption(self, order_id: int, symbol: str, price: int, low: int,
                                high: int) -> None:
        """The matcher stopped before a trade outside the volatility bands."""
        self.calls.interrupt(self, order_id, symbol, price, low, high)

    def submit_stop(self, cmd: SubmitStopOrder) -> None:
        self.stops.submit(self, cmd)

    def live_of(self, accounts: list[Any]) -> list[Any]:
        """The accounts' resting orders and held stops, in order-id order."""
        names = {account.account for account in accounts}
        found = [*self.orders_of(accounts), *self.stops.of_accounts(names)]
        return sorted(found, key=lambda order: order.order_id)

    def cancel_live(self, doomed: list[Any], reason: CancelReason) -> None:
        """OrderCanceled(reason) for each, in the order given: resting orders leave the book,
        held stops their list."""
        for order in doomed:
            if type(order) is HeldStop:
                self.stops.cancel(self, order.order_id, order.account, reason)
            else:
                self.take_out(order)
                self.canceled(order, order.leaves, reason)

    def day_notional_of(self, firm: str) -> int:
        """The firm's notional traded today, counted afresh from the day's trades. O(trades)."""
        total = 0
        for symbol, price, qty, buyer, seller in self.day_trades.values():
            if firm in (self.accounts[buyer].firm, self.accounts[seller].firm):
                total += abs(price) * qty * self.instruments[symbol].notional_scale
        return total

    def recount_day_notional(self) -> None:
        """Count every firm's day notional from the day's trades (after a snapshot load, which
        counted the open notionals as it put the orders back: all follow from the state, so a
        snapshot does not hold them). O(trades)."""
        for name, firm in self.firms.items():
            firm.day_notional = self.day_notional_of(name)

    def expire_orders(self, cmd: ExpireOrders) -> None:
        """Nothing beyond what `apply` already did (advancing the clock expires what is due),
        but a time that is no 64-bit int is refused."""
        if not validation.is_int(cmd.ts_us):
            self.reject_command(Reject.INVALID_FIELD, "expire orders")

    # -- invariants ------------------------------------------------------------------------

    def check(self) -> None:
        """Assert every invariant of the whole engine. O(state); for tests, never hot paths."""
        resting: dict[int, Order] = {}
        for symbol, book in self.books.items():
            assert book.symbol == symbol and symbol in self.instruments
            state = self.instruments[symbol].state
            book.check(may_cross=state in CALL_STATES or state is TradingState.HALTED)
            assert book.in_call == (state in CALL_STATES)
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
            live = {o.cl_ord_id: i for i, o in account.open_orders.items()}  # type: ignore[attr-defined]
            live.update((s.cl_ord_id, s.order_id) for s in self.stops.of_accounts({name}))
            assert live == account.live_cl_ord_ids
        assert sum(len(a.open_orders) for a in self.accounts.values()) == len(self.orders)
        for name, firm in self.firms.items():
            assert firm.name == name and all(a.firm == name for a in firm.accounts)
            assert firm.open_notional == firm.resting_notional(self.instruments)
            assert firm.open_buy == firm.count_open_buy(self.instruments)
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
        in_call = [s for s, i in self.instruments.items() if i.state in CALL_STATES]
        assert self.calls_open == len(in_call) and set(in_call) == self.calls.shown.keys()
        assert all(self.instruments[s].state is TradingState.VOLATILITY_AUCTION
                   for s in self.calls.volatility_end)
        assert all((end, s) in self.call_ends for s, (end, _) in self.calls.volatility_end.items())
        assert self.stop_count == len(self.stops.by_id)
        assert sum(len(held) for held in self.stops.sides.values()) == len(self.stops.by_id)
        assert all(stop.order_id < self.next_order_id for stop in self.stops.by_id.values())



_HANDLERS: dict[type, Callable[[Any, Any], None]] = {
    AmendOrder: amendments.amend,
    MassCancel: amendments.mass_cancel,
    ExpireOrders: Engine.expire_orders,
    AddInstrument: venue.add_instrument,
    ImportInstruments: venue.import_instruments,
    SetTradingState: venue.set_trading_state,
    SetVolatilityBands: venue.set_volatility_bands,
    SubmitStopOrder: Engine.submit_stop,
    SetPriceBand: venue.set_price_band,
    SetTradingSchedule: schedule.set_trading_schedule,
    AddAccount: venue.add_account,
    SetAccountLimits: venue.set_account_limits,
    SetCreditLimit: venue.set_credit_limit,
    SetKillSwitch: venue.set_kill_switch,
    BustTrade: venue.bust_trade,
    StartTradingDay: venue.start_trading_day,
    IssueKey: venue.issue_key,
    RevokeKey: venue.revoke_key,
}
