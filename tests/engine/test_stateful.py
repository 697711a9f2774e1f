"""The engine and the naive model (tests/engine/model.py), side by side over random commands.

Two instruments (one with negative prices and a band; their lot sizes and price decimals differ,
so one price unit x one lot is different money on each), three accounts (a1 and a2 of one firm,
so self-trade prevention happens; b1 of another), small price ranges so that orders cross,
icebergs refill, and FOK is sometimes fillable. The risk controls come and go: credit limits
small enough to bite, kill switches engaged and released, busts of real and bogus trades, new
trading days, mass cancels for every reason, and now and then an import of fresh instruments
(sometimes with a bad row). Every command's events must be equal (type and fields), the books,
firms, day trades and busts must be equal, `Engine.check()` must hold, and now and then a
snapshot round trip must keep the state, the digest and the behaviour.
"""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from exchange.engine import codec, snapshot
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
    StartTradingDay,
    SubmitOrder,
)
from exchange.engine.engine import Engine
from exchange.engine.enums import OrdType, Side, StpMode, TimeInForce, TradingState
from exchange.engine.events import CommandRejected
from exchange.engine.reasons import CancelReason
from tests.engine.helpers import book
from tests.engine.model import Model, normalized

GTC, DAY, GTD, IOC, FOK = TimeInForce
OPEN, HALTED, CLOSED = TradingState.OPEN, TradingState.HALTED, TradingState.CLOSED


def spec(symbol: str, **terms: Any) -> AddInstrument:
    return AddInstrument(0, symbol, "steel", "A", "Constanta", "2025-03", "t", 20, 1, 2)._replace(
        **terms)


# A: tick 1 around 100, no band, 20 t lots at 2 decimals. B: tick 5 around 0 (negative prices
# too), band +-20, 10 t lots at 1 decimal. The imported ones: 100 t lots at 4 decimals.
SETUP = (
    spec("A", max_qty=30),
    spec("B", tick_size=5, min_qty=2, max_qty=40, reference_price=0, band_ticks=4, lot_size=10,
         price_decimals=1, min_price=-1000, max_price=1000),
    AddAccount(0, "a1", "F1"),
    AddAccount(0, "a2", "F1"),
    AddAccount(0, "b1", "F2"),
)
SEED = (  # account, side, ticks from the centre, qty, display
    ("b1", Side.SELL, 1, 6, 2), ("a2", Side.SELL, 1, 3, None), ("b1", Side.SELL, 2, 8, None),
    ("a1", Side.BUY, -1, 4, None), ("b1", Side.BUY, -1, 9, 3), ("a2", Side.BUY, -2, 5, None),
)
IMPORTED = ("I1", "I2", "I3")  # listed by imports, if at all; tick 1 around 100, band +-5
CENTER = {"A": 100, "B": 0, "ZZ": 100, **dict.fromkeys(IMPORTED, 100)}
TICK = {"A": 1, "B": 5, "ZZ": 1, **dict.fromkeys(IMPORTED, 1)}

accounts = st.sampled_from(["a1", "a2", "b1"] * 6 + ["zz"])
symbols = st.sampled_from(["A", "B"] * 8 + ["ZZ", "I1"])
sides = st.sampled_from(Side)
cl_ids = st.sampled_from(["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7"])
clock_steps = st.sampled_from([0, 0, 1, 1, 2, 5, -3])  # sometimes older: processed at now_us
few = st.integers(1, 12)
# Notional (10**-6 of the currency) per price unit per lot: 20 * 10**(6 - 2) on A, 5 times
# that on B, 1/20 of it on the imported instruments.
A_SCALE = 20 * 10**4
# Notionals on A are about 100 x 1..12 lots x A_SCALE: limits this small bite often.
credit_limits = st.sampled_from([None, None, *(n * A_SCALE for n in (300, 800, 1500, 3000))])
MASS_CANCEL_REASONS = [CancelReason.MASS_CANCEL, CancelReason.DISCONNECT,
                       CancelReason.DEAD_MANS_SWITCH, CancelReason.OPERATOR]
ROW_FLAWS = ["none"] * 6 + ["short", "long", "not a row", "tick", "float", "duplicate", "halted",
                            "minimal", "decimals"]


def import_row(symbol: str, flaw: str) -> Any:
    """An ImportInstruments row (an AddInstrument's fields after ts_us), maybe with a flaw."""
    row: list[Any] = list(spec(symbol, lot_size=100, price_decimals=4, reference_price=100,
                               band_ticks=5))[1:]
    if flaw == "short":
        return row[:8]
    if flaw == "minimal":
        return row[:9]
    if flaw == "long":
        return [*row, 1]
    if flaw == "not a row":
        return symbol
    if flaw == "duplicate":
        row[0] = "A"
    elif flaw == "tick":
        row[7] = 0
    elif flaw == "float":
        row[6] = 20.0
    elif flaw == "decimals":  # notional is in 10**-6: at most 6 price decimals
        row[8] = 7
    elif flaw == "halted":
        row[13] = HALTED
    return row


def bad_commands(ts: int) -> list[Any]:
    """Wrong types, NaN and infinities, huge ints, unknown ids and things that are no command."""
    nan, inf = float("nan"), float("inf")
    return [
        SubmitOrder(ts, "a1", "x", "A", Side.BUY, 5, nan),
        SubmitOrder(ts, "a1", "x", "A", Side.BUY, 5, inf),
        SubmitOrder(ts, "a1", "x", "A", Side.BUY, 5, 100.0),
        SubmitOrder(ts, "a1", "x", "A", Side.BUY, 5, "100"),
        SubmitOrder(ts, "a1", "x", "A", Side.BUY, 2**64, 100),
        SubmitOrder(ts, "a1", "x", "A", Side.BUY, 5, 2**63),
        SubmitOrder(ts, "a1", "x", "A", Side.BUY, 5, -(2**63)),
        SubmitOrder(ts, "a1", "x", "A", Side.BUY, True, 100),
        SubmitOrder(ts, "a1", "x", "A", True, 5, 100),
        SubmitOrder(ts, "a1", "x", "A", 3, 5, 100),
        SubmitOrder(ts, "a1", "x", "A", Side.SELL, 0, 100),
        SubmitOrder(ts, "a1", "x", "A", Side.SELL, -4, 100),
        SubmitOrder(ts, "a1", "", "A", Side.SELL, 4, 100),
        SubmitOrder(ts, None, "x", "A", Side.SELL, 4, 100),  # type: ignore[arg-type]
        SubmitOrder(ts, "a1", "x", "A" * 65, Side.SELL, 4, 100),
        SubmitOrder(ts, "a1", "x", "A", Side.SELL, 4, 100, ord_type=9),  # type: ignore[arg-type]
        SubmitOrder(ts, "a1", "x", "A", Side.SELL, 4, 100, post_only=1),  # type: ignore[arg-type]
        SubmitOrder(ts, "a1", "x", "A", Side.SELL, 4, 100, display_qty=0),
        SubmitOrder(ts, "a1", "x", "A", Side.SELL, 4, 100, tif=GTD, expire_at_us=10.5),  # type: ignore[arg-type]
        SubmitOrder(ts + 0.5, "a1", "x", "A", Side.SELL, 4, 100),  # type: ignore[arg-type]
        SubmitOrder(2**63, "a1", "x", "A", Side.SELL, 4, 100),
        CancelOrder(ts, "a1", "1"),  # type: ignore[arg-type]
        CancelOrder(ts, "a1", 2**70),
        CancelOrder(ts, 7, 1),  # type: ignore[arg-type]
        CancelOrder(ts, "a1", True),  # type: ignore[arg-type]
        AmendOrder(ts, "a1", 1, 5.0, 100),  # type: ignore[arg-type]
        AmendOrder(ts, "a1", 1, 5, nan),  # type: ignore[arg-type]
        AmendOrder(ts, "a1", 1, 0, 100),
        AmendOrder(ts, "a1", 1, 5, 100, cl_ord_id=""),
        MassCancel(ts, "a1", symbol=3),  # type: ignore[arg-type]
        MassCancel(ts, "a1", side=0),  # type: ignore[arg-type]
        MassCancel(ts, "zz"),
        MassCancel(ts, "a1", "ZZ"),
        ExpireOrders("later"),  # type: ignore[arg-type]
        SetTradingState(ts, "A", 9),  # type: ignore[arg-type]
        SetTradingState(ts, "ZZ", OPEN),
        SetPriceBand(ts, "B", 3, 2),
        SetPriceBand(ts, "B", 0, -1),
        SetPriceBand(ts, "B", 0.0, 2),  # type: ignore[arg-type]
        SetPriceBand(ts, "ZZ", 0, 2),
        AddAccount(ts, "a1", "F9"),
        AddAccount(ts, "n1", "F1", max_order_qty=0),
        AddAccount(ts, "n1", ""),
        SetAccountLimits(ts, "zz"),
        SetAccountLimits(ts, "a1", max_open_orders=-1),
        spec("A")._replace(ts_us=ts),
        spec("C", ts_us=ts, tick_size=0),
        spec("C", ts_us=ts, min_qty=5, max_qty=4),
        spec("C", ts_us=ts, price_decimals=7),
        spec("C", ts_us=ts, tick_size=5, reference_price=7, band_ticks=1),
        spec("C", ts_us=ts, lot_size=2.0),
        spec("C", ts_us=2**70),
        SetCreditLimit(ts, "F1", 0),
        SetCreditLimit(ts, "F1", -100),
        SetCreditLimit(ts, "F1", 100.0),  # type: ignore[arg-type]
        SetCreditLimit(ts, "F1", True),  # type: ignore[arg-type]
        SetCreditLimit(ts, "F9", 100),
        SetCreditLimit(ts, "", 100),
        SetKillSwitch(ts, "desk", "a1", True),
        SetKillSwitch(ts, "firm", "F1", 1),  # type: ignore[arg-type]
        SetKillSwitch(ts, "firm", "F9", True),
        SetKillSwitch(ts, "account", "zz", True),
        SetKillSwitch(ts, "account", "F1", False),
        SetKillSwitch(ts, "firm", "a1", False),
        BustTrade(ts, "1", "error"),  # type: ignore[arg-type]
        BustTrade(ts, True, "error"),  # type: ignore[arg-type]
        BustTrade(ts, 1, None),  # type: ignore[arg-type]
        BustTrade(ts, 1, "x" * 201),
        BustTrade(ts, 2**64, "error"),
        BustTrade(1.5, 1, "error"),  # type: ignore[arg-type]
        StartTradingDay(1.5),  # type: ignore[arg-type]
        StartTradingDay(True),  # type: ignore[arg-type]
        MassCancel(ts, "a1", reason=CancelReason.REQUESTED),
        MassCancel(ts, "a1", reason=CancelReason.KILL_SWITCH),
        MassCancel(ts, "a1", reason=99),  # type: ignore[arg-type]
        MassCancel(ts, "a1", reason=True),  # type: ignore[arg-type]
        ImportInstruments(ts, "I1"),  # type: ignore[arg-type]
        ImportInstruments(1.5, []),  # type: ignore[arg-type]
        ImportInstruments(ts, [None]),  # type: ignore[list-item]
        ImportInstruments(ts, [import_row("I1", "short")]),
        ImportInstruments(ts, [import_row("I2", "none"), import_row("I2", "none")]),
        "not a command",
        None,
        (ts, "a1", 1),
    ]


BAD_COUNT = len(bad_commands(0))


class EngineAgainstModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.engine = Engine()
        self.model = Model()
        self.ts = 0

    @initialize(seeded=st.sampled_from([True, True, True, False]), f1_limit=credit_limits,
                f2_limit=credit_limits)
    def set_up_the_venue(self, seeded: bool, f1_limit: int | None, f2_limit: int | None) -> None:
        """The instruments and accounts, mostly a few resting orders on both sides (an
        iceberg among them) so that the first steps can trade already, and often credit
        limits, so that they bite from the start."""
        for command in SETUP:
            self.run(command)
        for symbol in ("A", "B") if seeded else ():
            for account, side, ticks, qty, display in SEED:
                self.run(SubmitOrder(0, account, f"s{len(self.model.all_orders())}", symbol,
                                     side, qty, self.price(symbol, ticks, False),
                                     display_qty=display))
        for firm, limit in (("F1", f1_limit), ("F2", f2_limit)):
            if limit is not None:
                self.run(SetCreditLimit(0, firm, limit))

    def run(self, command: Any) -> list[Any]:
        got = self.engine.apply(command)
        want = self.model.apply(command)
        assert normalized(got) == normalized(want), command
        if type(command) is ImportInstruments and type(got[-1]) is CommandRejected:
            assert f"row {self.model.bad_import_row}" in got[-1].detail, (command, got)
        for event in got:
            assert codec.decode(codec.encode(event)) == event
        return got

    def tick(self, step: int) -> int:
        self.ts = max(self.ts, self.ts + step)
        return self.ts + min(step, 0)

    def price(self, symbol: str, ticks: int, off_tick: bool) -> int:
        return CENTER[symbol] + ticks * TICK[symbol] + (1 if off_tick and TICK[symbol] > 1 else 0)

    # -- orders ------------------------------------------------------------------------------

    @rule(account=accounts, symbol=symbols, side=sides, qty=few, ticks=st.integers(-3, 3),
          off_tick=st.sampled_from([False] * 9 + [True]),
          tif=st.sampled_from([GTC, GTC, GTC, DAY, GTD, IOC, FOK]), cl=cl_ids, step=clock_steps,
          display=st.sampled_from([None] * 6 + [1, 2, 3, 20]), post_only=st.booleans(),
          stp=st.sampled_from(StpMode), expire_in=st.sampled_from([None, 0, 1, 2, 4, 8, 8]))
    def submit_limit(self, account: str, symbol: str, side: Side, qty: int, ticks: int,
                     off_tick: bool, tif: TimeInForce, cl: str, step: int, display: int | None,
                     post_only: bool, stp: StpMode, expire_in: int | None) -> None:
        ts = self.tick(step)
        # GTD mostly with a time (0: not after now, rejected), others mostly without one
        with_time = expire_in is not None and (tif == GTD or expire_in == 0)
        expire = self.ts + expire_in if with_time else None
        display = display if tif in (GTC, DAY, GTD) or display == 20 else None
        post_only = post_only and qty % 4 == 0  # rarely, or it would seldom trade
        self.run(SubmitOrder(ts, account, cl, symbol, side, qty,
                             self.price(symbol, ticks, off_tick), OrdType.LIMIT, tif, expire,
                             post_only, display, stp))

    @rule(account=accounts, symbol=symbols, side=sides, qty=few, ticks=st.integers(-1, 3),
          tif=st.sampled_from([GTC, GTC, IOC, FOK]), cl=cl_ids, step=clock_steps,
          display=st.sampled_from([None, None, 1, 2]), stp=st.sampled_from(StpMode))
    def submit_aggressive(self, account: str, symbol: str, side: Side, qty: int, ticks: int,
                          tif: TimeInForce, cl: str, step: int, display: int | None,
                          stp: StpMode) -> None:
        """A valid limit order priced across the middle of the book, so that it trades."""
        ticks = ticks if side == Side.BUY else -ticks
        display = display if tif == GTC else None
        self.run(SubmitOrder(self.tick(step), account, cl, symbol, side, qty,
                             self.price(symbol, ticks, False), OrdType.LIMIT, tif, None, False,
                             display, stp))

    @rule(account=accounts, symbol=symbols, side=sides, qty=few, cl=cl_ids, step=clock_steps,
          tif=st.sampled_from([IOC, IOC, IOC, FOK, FOK, FOK, GTC]), stp=st.sampled_from(StpMode),
          price=st.sampled_from([None] * 7 + [100]))
    def submit_market(self, account: str, symbol: str, side: Side, qty: int, cl: str, step: int,
                      tif: TimeInForce, stp: StpMode, price: int | None) -> None:
        self.run(SubmitOrder(self.tick(step), account, cl, symbol, side, qty, price,
                             OrdType.MARKET, tif, stp=stp))

    def pick(self, data: st.DataObject) -> tuple[str, int]:
        """A live order's (account, id) mostly; sometimes another account's, or no order."""
        live = sorted((o.account, o.order_id) for o in self.model.all_orders())
        choice = data.draw(st.sampled_from(["own"] * 6 + ["other", "none"]))
        if not live or choice == "none":
            return data.draw(accounts), data.draw(st.integers(0, self.model.next_order_id + 1))
        account, order_id = data.draw(st.sampled_from(live))
        if choice == "other":
            account = data.draw(accounts)
        return account, order_id

    @precondition(lambda self: self.model.all_orders())
    @rule(data=st.data(), step=clock_steps)
    def cancel(self, data: st.DataObject, step: int) -> None:
        account, order_id = self.pick(data)
        self.run(CancelOrder(self.tick(step), account, order_id))

    @precondition(lambda self: self.model.all_orders())
    @rule(data=st.data(), step=clock_steps, qty=st.integers(1, 14),
          ticks=st.sampled_from([0, 0, 0, 1, -1, 2]),
          cl=st.sampled_from([None, None, None, "c1", "c2", "c8"]))
    def amend(self, data: st.DataObject, step: int, qty: int, ticks: int, cl: str | None) -> None:
        account, order_id = self.pick(data)
        order = self.model.find(order_id)
        symbol = order.symbol if order else "A"
        price = (order.price if order else 100) + ticks * TICK[symbol]
        if order is not None and data.draw(st.booleans()):
            qty = order.qty + data.draw(st.integers(-3, 1))  # near the total: all three outcomes
        self.run(AmendOrder(self.tick(step), account, order_id, max(qty, 1), price, cl))

    @rule(data=st.data(), step=clock_steps)
    def housekeeping(self, data: st.DataObject, step: int) -> None:
        """Rarer commands, drawn in one rule so that orders make most of the steps: mass
        cancels, clock advances, trading states, price bands and account limits."""
        ts = self.tick(step)
        kind = data.draw(st.sampled_from(
            ["mass", "clock", "clock", "state", "band", "limits", "import"]))
        if kind == "mass":
            command: Any = MassCancel(ts, data.draw(accounts), data.draw(st.sampled_from(
                [None, "A", "B"])), data.draw(st.sampled_from([None, Side.BUY, Side.SELL])),
                data.draw(st.sampled_from(MASS_CANCEL_REASONS)))
        elif kind == "import":
            rows = data.draw(st.lists(st.tuples(st.sampled_from(IMPORTED), st.sampled_from(
                ROW_FLAWS)), max_size=3))
            command = ImportInstruments(ts, [import_row(*row) for row in rows])
        elif kind == "clock":
            command = ExpireOrders(self.tick(data.draw(st.integers(1, 6))))
        elif kind == "state":
            command = SetTradingState(ts, data.draw(symbols), data.draw(st.sampled_from(
                [OPEN, OPEN, OPEN, HALTED, CLOSED])))
        elif kind == "band":
            symbol = data.draw(symbols)
            reference = data.draw(st.sampled_from([None, 0, 1, -1]))
            if reference is not None:
                reference = CENTER[symbol] + reference * TICK[symbol]
            command = SetPriceBand(ts, symbol, reference, data.draw(st.sampled_from(
                [None, 0, 1, 3])))
        else:
            command = SetAccountLimits(ts, data.draw(accounts), *(data.draw(st.sampled_from(
                choices)) for choices in ([None, None, 4, 10],
                                          [None, None, 50 * A_SCALE, 800 * A_SCALE],
                                          [None, None, 1, 3])))
        self.run(command)

    @rule(data=st.data(), step=clock_steps)
    def risk_controls(self, data: st.DataObject, step: int) -> None:
        """Credit limits, buys right at a firm's limit or one past it, kill switches (released
        twice as often as engaged, so that trading goes on), busts of real, busted, earlier-day
        and bogus trade ids, and trading days."""
        ts = self.tick(step)
        kind = data.draw(st.sampled_from(["credit", "kill", "bust"] * 4 + ["edge", "day"]))
        if kind == "credit":
            firm = data.draw(st.sampled_from(["F1", "F2"]))
            limit = data.draw(credit_limits)
            if data.draw(st.booleans()):  # room for a few lots at 100 exactly: the edge bites
                room = data.draw(st.sampled_from([0, 100, 300])) * A_SCALE
                limit = self.model.credit_used(firm) + room
                limit = limit if limit > 0 else None
            command: Any = SetCreditLimit(ts, firm, limit)
        elif kind == "edge":  # one lot priced at the room left (no band on A unless set)
            account = data.draw(st.sampled_from(["a1", "a2", "b1"]))
            firm = self.model.accounts[account].firm
            limit = self.model.firms[firm].credit_limit or 0
            room = limit - self.model.credit_used(firm)
            price = room // A_SCALE + data.draw(st.sampled_from([0, 1]))
            command = SubmitOrder(ts, account, "edge", "A", Side.BUY, 1, price, tif=IOC)
        elif kind == "kill":
            scope, name = data.draw(st.sampled_from(
                [("firm", "F1"), ("firm", "F2"), ("account", "a1"), ("account", "a2"),
                 ("account", "b1")]))
            command = SetKillSwitch(ts, scope, name, data.draw(st.sampled_from([True, False, False])))
        elif kind == "bust":
            today = sorted(self.model.trades)
            bogus = st.integers(-1, self.model.next_trade_id + 1)  # past days' ids among them
            real = today and data.draw(st.sampled_from([True, True, False]))
            trade_id = data.draw(st.sampled_from(today) if real else bogus)
            command = BustTrade(ts, trade_id, data.draw(st.sampled_from(["price error", ""])))
        else:
            command = StartTradingDay(ts)
        self.run(command)

    @rule(index=st.integers(0, BAD_COUNT - 1), step=clock_steps)
    def bad_command(self, index: int, step: int) -> None:
        self.run(bad_commands(self.tick(step))[index])

    @rule()
    def snapshot_round_trip(self) -> None:
        digest, data = self.engine.digest(), snapshot.dump(self.engine)
        self.engine = snapshot.load(data)
        assert self.engine.digest() == digest and snapshot.dump(self.engine) == data

    # -- invariants --------------------------------------------------------------------------

    @invariant()
    def engine_invariants_hold(self) -> None:
        self.engine.check()

    @invariant()
    def books_equal_the_model(self) -> None:
        for symbol in self.engine.books:
            assert book(self.engine, symbol) == self.model.book(symbol)
        assert self.engine.seq == self.model.seq and self.engine.now_us == self.model.now

    @invariant()
    def firms_and_trades_equal_the_model(self) -> None:
        engine, model = self.engine, self.model
        assert engine.instruments.keys() == model.instruments.keys()
        assert {name: (f.credit_limit, f.net_bought, f.blocked)
                for name, f in engine.firms.items()} == {
            name: (f.credit_limit, f.net_bought, f.blocked) for name, f in model.firms.items()}
        assert {name: a.blocked for name, a in engine.accounts.items()} == {
            name: a.blocked for name, a in model.accounts.items()}
        assert engine.day_trades == {
            trade_id: (t.symbol, t.price, t.qty, t.buyer, t.seller)
            for trade_id, t in model.trades.items()}
        assert engine.busted == model.busted


EngineAgainstModel.TestCase.settings = settings(
    max_examples=settings.default.max_examples, stateful_step_count=100)
TestEngineAgainstModel = EngineAgainstModel.TestCase
