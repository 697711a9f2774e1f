"""No input, however hostile, stops the engine or takes an integer out of 64 bits.

Three kinds of proof: the reproduction from the field (an order at the largest price that once
made the digest overflow); a property test that sends every command with extreme and malformed
values in any of its fields and requires a reject with a code, no exception, encodable events
and an unchanged state; and a property test at the extremes of the bounds (the largest prices
and quantities an instrument admits, traded until the firms' day notional is full) that runs the
naive model beside the engine and requires every integer of the state to fit in 64 bits.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.engine import codec, snapshot
from exchange.engine.commands import (
    AddAccount,
    AmendOrder,
    BustTrade,
    CancelOrder,
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
from exchange.engine.enums import OrdType, Side, TimeInForce
from exchange.engine.instrument import (
    FIRM_NOTIONAL_CAPACITY,
    INT64_MAX,
    MAX_ORDER_NOTIONAL,
    parse_price,
)
from exchange.engine.reasons import Reject
from tests.engine.helpers import SYMBOL, buy, instrument, kinds, sell, state, venue
from tests.engine.model import Model, normalized

REJECTIONS = {"OrderRejected", "CommandRejected", "CancelRejected"}
INT64_MIN = -INT64_MAX - 1


def encodable(engine: Engine, events: list[Any]) -> None:
    """Every event encodes and decodes, and the state digests and snapshots: the things that
    raised OverflowError or UnicodeEncodeError before and stopped the venue."""
    for event in events:
        assert codec.decode(codec.encode(event)) == event
    engine.digest()
    assert snapshot.load(snapshot.dump(engine)).digest() == engine.digest()


def test_an_order_at_the_largest_price_is_rejected_and_nothing_overflows() -> None:
    # the field report: px "92233720368547758.00" on an instrument without a band, qty 100000
    engine = venue(buy("a1", 5, 100))
    price = parse_price("92233720368547758.00", 2)
    for account, side in (("b1", Side.SELL), ("a1", Side.BUY)):
        events = engine.apply(SubmitOrder(1, account, f"big-{account}", SYMBOL, side, 100_000,
                                          price))
        assert kinds(events) == ["OrderRejected"]
        assert events[0].reason is Reject.PRICE_OUT_OF_RANGE
    encodable(engine, [])


def test_a_price_range_that_could_overflow_is_an_invalid_spec() -> None:
    engine = Engine()
    too_wide = instrument(lot_size=1, price_decimals=0, max_qty=10**6, max_price=10**6 + 1)
    negative = instrument(lot_size=1, price_decimals=0, max_qty=10**6, min_price=-(10**6 + 1))
    off_tick = instrument(tick_size=5, min_price=3)
    upside_down = instrument(min_price=100, max_price=99)
    no_room = instrument(lot_size=10**9, price_decimals=0, max_qty=10**12)
    for spec in (too_wide, negative, off_tick, upside_down, no_room):
        events = engine.apply(spec)
        assert kinds(events) == ["CommandRejected"], spec
        assert events[0].reason is Reject.INVALID_INSTRUMENT_SPEC, spec
    assert not engine.instruments


def test_the_default_price_range_keeps_max_qty_lots_within_one_orders_notional() -> None:
    engine = venue()
    pipe = engine.instruments[SYMBOL]
    assert pipe.min_price == pipe.tick_size
    assert pipe.max_price * pipe.max_qty * pipe.notional_scale <= MAX_ORDER_NOTIONAL
    assert (pipe.max_price + 1) * pipe.max_qty * pipe.notional_scale > MAX_ORDER_NOTIONAL


def test_a_band_wider_than_the_range_stops_at_the_range() -> None:
    engine = venue(reference_price=100, band_ticks=INT64_MAX)
    pipe = engine.instruments[SYMBOL]
    assert pipe.band_limits() == (pipe.min_price, pipe.max_price)
    assert kinds(engine.apply(SetPriceBand(1, SYMBOL, pipe.max_price + 1, 1))) == [
        "CommandRejected"]


# -- every field of every command, hostile ---------------------------------------------------

HOSTILE: list[Any] = [
    None, True, False, 0, -1, 1, 7, INT64_MAX, INT64_MAX + 1, INT64_MIN, INT64_MIN - 1, 2**64,
    10**40, -(10**40), 1.5, float("nan"), float("inf"), -float("inf"), "", "x", "PIPE", "a1",
    "\ud800", "a\udfffb", "a\x00b", "\u00b9", "\u0661", "\u202e", "A" * 65, "B" * 201,
    b"bytes", [], [1, 2], ["PIPE"], {}, {"a": 1}, (1,), Side.BUY, Side.SELL,
]

EXAMPLES: list[Any] = [
    SubmitOrder(5, "a1", "h1", SYMBOL, Side.BUY, 5, 100),
    SubmitOrder(5, "b1", "h2", SYMBOL, Side.SELL, 3, None, OrdType.MARKET, TimeInForce.IOC),
    SubmitOrder(5, "b1", "h3", SYMBOL, Side.SELL, 4, 102, tif=TimeInForce.GTD,
                expire_at_us=10**9, display_qty=2),
    CancelOrder(5, "a1", 1),
    AmendOrder(5, "a1", 1, 8, 99, "h4"),
    MassCancel(5, "a1", SYMBOL, Side.BUY),
    ExpireOrders(5),
    instrument("NEW", reference_price=100, band_ticks=10),
    ImportInstruments(5, [list(instrument("IMP"))[1:]]),
    SetTradingState(5, SYMBOL, 2),
    SetPriceBand(5, SYMBOL, 100, 5),
    AddAccount(5, "z1", "FZ", 10, 10**12, 5),
    SetAccountLimits(5, "a1", 10, 10**12, 5),
    SetCreditLimit(5, "F1", 10**12),
    SetKillSwitch(5, "firm", "F2", True),
    BustTrade(5, 1, "wrong"),
    StartTradingDay(5),
    IssueKey(5, "k2", "trader", "a1", "0" * 32, "0" * 64),
    RevokeKey(5, "k1"),
]


def hostile_commands() -> st.SearchStrategy[Any]:
    """A valid example with one to all of its fields replaced by hostile values."""
    def replace(example: Any, data: st.DataObject) -> Any:
        names = data.draw(st.sets(st.sampled_from(example._fields), min_size=1))
        return example._replace(**{name: data.draw(st.sampled_from(HOSTILE)) for name in names})

    return st.builds(lambda example, data: replace(example, data),
                     st.sampled_from(EXAMPLES), st.data())


def seeded() -> Engine:
    engine = venue(sell("b1", 5, 101), buy("a1", 5, 99), buy("c1", 2, 101))  # one trade
    engine.apply(IssueKey(1, "k1", "operator", None, "0" * 32, "0" * 64))
    return engine


@settings(max_examples=600, deadline=None)
@given(commands=st.lists(hostile_commands(), min_size=1, max_size=6))
def test_hostile_fields_in_any_command_are_rejected_with_a_code_and_change_nothing(
        commands: list[Any]) -> None:
    engine = seeded()
    for command in commands:
        before = state(engine)
        events = engine.apply(command)  # never raises
        assert events or type(command) is ExpireOrders, command  # only the clock moved
        encodable(engine, events)
        if events and kinds(events)[0] in REJECTIONS:
            assert isinstance(events[0].reason, Reject)
            assert state(engine) == before, command
        engine.check()


# -- the extremes of the bounds, against the model ---------------------------------------------

# 1 lot is 1 unit at 0 decimals: a price unit of a lot is 10**6 money; max_qty 10**6, so the
# default range ends at 10**6 and one order there is worth MAX_ORDER_NOTIONAL.
EXTREME = instrument("EXT", lot_size=1, price_decimals=0, max_qty=10**6, min_price=-(10**6))
EXTREME_PRICES = [-(10**6), -1, 0, 1, 10**6 - 1, 10**6]
EXTREME_QTYS = [1, 10**6 - 1, 10**6]


def extreme_orders() -> st.SearchStrategy[SubmitOrder]:
    limit = st.builds(
        lambda account, side, qty, price, n: SubmitOrder(
            1, account, f"x{n}", "EXT", side, qty, price),
        st.sampled_from(["a1", "b1", "c1"]), st.sampled_from(list(Side)),
        st.sampled_from(EXTREME_QTYS), st.sampled_from(EXTREME_PRICES), st.integers(0, 10**9))
    market = st.builds(
        lambda account, side, qty, n: SubmitOrder(
            1, account, f"m{n}", "EXT", side, qty, None, OrdType.MARKET, TimeInForce.IOC),
        st.sampled_from(["a1", "b1", "c1"]), st.sampled_from(list(Side)),
        st.sampled_from(EXTREME_QTYS), st.integers(0, 10**9))
    return st.one_of(limit, limit, market)


def fits(value: Any) -> bool:
    """Every int in a (nested) value fits in 64 bits."""
    if type(value) is int:
        return INT64_MIN <= value <= INT64_MAX
    if isinstance(value, list | tuple):
        return all(fits(item) for item in value)
    return True


@settings(max_examples=150, deadline=None)
@given(orders=st.lists(extreme_orders(), min_size=1, max_size=12),
       new_day_at=st.integers(0, 12))
def test_orders_at_the_extremes_agree_with_the_model_and_every_integer_fits(
        orders: list[SubmitOrder], new_day_at: int) -> None:
    engine, model = Engine(), Model()
    setup = [EXTREME, AddAccount(0, "a1", "F1"), AddAccount(0, "b1", "F2"),
             AddAccount(0, "c1", "F3"), SetCreditLimit(0, "F3", INT64_MAX)]
    for command in setup:
        assert normalized(engine.apply(command)) == normalized(model.apply(command))
    for number, command in enumerate(orders):
        if number == new_day_at:
            command_events = engine.apply(StartTradingDay(1))
            assert normalized(command_events) == normalized(model.apply(StartTradingDay(1)))
        events = engine.apply(command)
        assert normalized(events) == normalized(model.apply(command)), command
        encodable(engine, events)
        assert all(fits(list(event)) for event in events)
        engine.check()
        for firm in engine.firms.values():
            assert firm.day_notional + firm.open_notional <= FIRM_NOTIONAL_CAPACITY
            assert fits(list(firm.canonical()))


def test_a_firm_whose_day_notional_is_full_is_rejected_with_notional_capacity() -> None:
    engine = Engine()
    for command in (EXTREME, AddAccount(0, "a1", "F1"), AddAccount(0, "b1", "F2")):
        engine.apply(command)
    top = 10**6
    engine.apply(SubmitOrder(1, "b1", "s1", "EXT", Side.SELL, 10**6, top))  # 10**18 resting
    trade = engine.apply(SubmitOrder(1, "a1", "b1", "EXT", Side.BUY, 10**6, top))
    assert "TradeExecuted" in kinds(trade)
    assert engine.firms["F1"].day_notional == MAX_ORDER_NOTIONAL
    engine.apply(SubmitOrder(1, "b1", "s2", "EXT", Side.SELL, 10**6, top))  # F2: 2 * 10**18
    events = engine.apply(SubmitOrder(1, "b1", "s3", "EXT", Side.SELL, 1, 1))
    assert kinds(events) == ["OrderRejected"] and events[0].reason is Reject.NOTIONAL_CAPACITY
    engine.apply(StartTradingDay(2))  # the traded part starts again; what rests stays
    assert kinds(engine.apply(SubmitOrder(2, "b1", "s4", "EXT", Side.SELL, 1, 1)))[0] == (
        "OrderAccepted")
    engine.check()
