"""Bad input is rejected with a reason code and changes nothing (DESIGN rule 2 and 5)."""

from __future__ import annotations

import pytest

from exchange.engine.commands import AmendOrder, CancelOrder, MassCancel, SubmitOrder
from exchange.engine.enums import Side, TimeInForce
from exchange.engine.instrument import format_price, parse_price, parse_qty
from exchange.engine.reasons import Reject
from tests.engine.helpers import buy, kinds, sell, state, venue

NAN, INF = float("nan"), float("inf")
BIG = 2**63  # one past the largest 64-bit int
GOOD = SubmitOrder(1, "a1", "new", "PIPE", Side.BUY, 5, 100)


@pytest.mark.parametrize(("fields", "reason"), [
    ({"price": NAN}, Reject.INVALID_PRICE),
    ({"price": INF}, Reject.INVALID_PRICE),
    ({"price": -INF}, Reject.INVALID_PRICE),
    ({"price": 100.0}, Reject.INVALID_PRICE),
    ({"price": "100"}, Reject.INVALID_PRICE),
    ({"price": True}, Reject.INVALID_PRICE),
    ({"price": BIG}, Reject.INVALID_PRICE),
    ({"price": -BIG - 1}, Reject.INVALID_PRICE),
    ({"qty": 0}, Reject.INVALID_QUANTITY),
    ({"qty": -5}, Reject.INVALID_QUANTITY),
    ({"qty": 5.0}, Reject.INVALID_QUANTITY),
    ({"qty": NAN}, Reject.INVALID_QUANTITY),
    ({"qty": True}, Reject.INVALID_QUANTITY),
    ({"qty": BIG}, Reject.INVALID_QUANTITY),
    ({"qty": "5"}, Reject.INVALID_QUANTITY),
    ({"side": True}, Reject.INVALID_FIELD),
    ({"side": 3}, Reject.INVALID_FIELD),
    ({"side": "BUY"}, Reject.INVALID_FIELD),
    ({"tif": 0}, Reject.INVALID_FIELD),
    ({"ord_type": None}, Reject.INVALID_FIELD),
    ({"stp": 9}, Reject.INVALID_FIELD),
    ({"post_only": 1}, Reject.INVALID_FIELD),
    ({"ts_us": 1.0}, Reject.INVALID_FIELD),
    ({"ts_us": BIG}, Reject.INVALID_FIELD),
    ({"account": ""}, Reject.INVALID_FIELD),
    ({"account": b"a1"}, Reject.INVALID_FIELD),
    ({"account": "a" * 65}, Reject.INVALID_FIELD),
    ({"cl_ord_id": "tab\there"}, Reject.INVALID_FIELD),
    ({"symbol": None}, Reject.INVALID_FIELD),
    ({"tif": TimeInForce.GTD, "expire_at_us": 5.5}, Reject.INVALID_EXPIRE_TIME),
    ({"tif": TimeInForce.GTD, "expire_at_us": BIG}, Reject.INVALID_EXPIRE_TIME),
    ({"display_qty": 0}, Reject.INVALID_DISPLAY_QTY),
    ({"display_qty": -1}, Reject.INVALID_DISPLAY_QTY),
    ({"display_qty": 2.0}, Reject.INVALID_DISPLAY_QTY),
    ({"display_qty": True}, Reject.INVALID_DISPLAY_QTY),
    ({"account": "nobody"}, Reject.UNKNOWN_ACCOUNT),
    ({"symbol": "NONE"}, Reject.UNKNOWN_INSTRUMENT),
])
def test_a_bad_order_is_rejected_with_its_reason_and_changes_nothing(fields, reason) -> None:
    engine = venue(buy("a1", 5, 99), sell("b1", 5, 101))
    before = state(engine)
    events = engine.apply(GOOD._replace(**fields))
    assert kinds(events) == ["OrderRejected"] and events[0].reason is reason
    assert state(engine) == before
    engine.check()


def test_a_rejection_shows_non_string_fields_as_a_bounded_repr() -> None:
    events = venue().apply(GOOD._replace(account=None, cl_ord_id=7, symbol="x" * 500))
    assert (events[0].account, events[0].cl_ord_id, events[0].symbol) == ("None", "7", "x" * 500)


def test_the_largest_64_bit_int_is_a_price_field_outside_every_price_range() -> None:
    engine = venue()
    for price in (BIG - 1, -(BIG - 1)):
        events = engine.apply(GOOD._replace(price=price))
        assert kinds(events) == ["OrderRejected"]
        assert events[0].reason is Reject.PRICE_OUT_OF_RANGE


@pytest.mark.parametrize(("command", "reason"), [
    (CancelOrder(1, "a1", "1"), Reject.INVALID_FIELD),
    (CancelOrder(1, "a1", True), Reject.INVALID_FIELD),
    (CancelOrder(1, "a1", BIG), Reject.INVALID_FIELD),
    (CancelOrder(1, None, 1), Reject.INVALID_FIELD),
    (AmendOrder(1, "a1", 1, 5.0, 99), Reject.INVALID_QUANTITY),
    (AmendOrder(1, "a1", 1, 0, 99), Reject.INVALID_QUANTITY),
    (AmendOrder(1, "a1", 1, 5, NAN), Reject.INVALID_PRICE),
    (AmendOrder(1, "a1", 1, 5, None), Reject.INVALID_PRICE),
    (AmendOrder(1, "a1", 1, 5, True), Reject.INVALID_PRICE),
    (AmendOrder(1, "a1", 1, 5, 99, ""), Reject.INVALID_FIELD),
    (AmendOrder(1, "a1", 1.0, 5, 99), Reject.INVALID_FIELD),
])
def test_a_bad_cancel_or_amend_is_rejected_and_changes_nothing(command, reason) -> None:
    engine = venue(buy("a1", 5, 99))
    before = state(engine)
    events = engine.apply(command)
    assert kinds(events) == ["CancelRejected"] and events[0].reason is reason
    assert events[0].order_id == (command.order_id if type(command.order_id) is int
                                  and abs(command.order_id) < BIG else 0)
    assert state(engine) == before


@pytest.mark.parametrize("command", [
    MassCancel(1, "a1", symbol=3), MassCancel(1, "a1", side=0), MassCancel(1, "a1", side=True),
    MassCancel(1.5, "a1"),
])
def test_a_bad_mass_cancel_is_command_rejected_invalid_field(command) -> None:
    engine = venue(buy("a1", 5, 99))
    events = engine.apply(command)
    assert kinds(events) == ["CommandRejected"] and events[0].reason is Reject.INVALID_FIELD
    assert engine.orders.keys() == {1}


@pytest.mark.parametrize("thing", [None, "SubmitOrder", 42, (1, "a1", 1), object(),
                                   GOOD._asdict()])
def test_something_that_is_no_command_is_rejected_invalid_field(thing) -> None:
    engine = venue(buy("a1", 5, 99))
    before, seq = state(engine), engine.seq
    events = engine.apply(thing)
    assert kinds(events) == ["CommandRejected"] and events[0].reason is Reject.INVALID_FIELD
    assert events[0].seq == seq + 2 and state(engine) == before


@pytest.mark.parametrize(("text", "decimals", "units"), [
    ("215.25", 2, 21525), ("215.2", 2, 21520), ("215", 2, 21500), ("-0.05", 2, -5),
    ("0", 0, 0), ("7", 3, 7000), ("9223372036854775807", 0, 2**63 - 1), ("0.5", 2, 50),
    ("209", 2, 20900), ("-209.5", 2, -20950),
])
def test_parse_price_converts_exactly(text: str, decimals: int, units: int) -> None:
    assert parse_price(text, decimals) == units
    assert parse_price(format_price(units, decimals), decimals) == units


@pytest.mark.parametrize(("text", "decimals"), [
    ("1.000", 2), ("1.5", 0), ("1e3", 2), ("NaN", 2), ("nan", 2), ("inf", 2), ("-Infinity", 2),
    ("+1", 2), (" 1", 2), ("1 ", 2), ("", 2), (".5", 2), ("1.", 2), ("1,5", 2),
    ("9223372036854775808", 0), ("0x10", 2), (1.5, 2), (None, 2),
    ("01", 2), ("00005", 0), ("00.5", 2), ("-0", 2), ("-0.00", 2), ("-00.05", 2), ("--1", 2),
    ("\u00b9", 0), ("1\u00b2", 0), ("\u0661", 0),
])
def test_parse_price_rejects_anything_but_a_plain_decimal_within_precision(text, decimals) -> None:
    with pytest.raises(ValueError):
        parse_price(text, decimals)


def test_format_price_writes_exactly_the_instruments_decimals() -> None:
    assert format_price(21525, 2) == "215.25"
    assert format_price(-5, 2) == "-0.05"
    assert format_price(7, 0) == "7"


def test_parse_price_and_qty_reject_non_ascii_digits() -> None:
    with pytest.raises(ValueError):
        parse_price("\u0661\u0660\u0660", 0)  # Arabic-Indic 100
    with pytest.raises(ValueError):
        parse_qty("\uff12")  # fullwidth 2


@pytest.mark.parametrize("text", ["", "-1", "1.0", "1e2", " 2", "1" * 19, 5, "01", "00005",
                                  "\u00b9", "+1", "-0"])
def test_parse_qty_accepts_only_plain_digits(text) -> None:
    with pytest.raises(ValueError):
        parse_qty(text)
    assert parse_qty("20") == 20


def test_parse_price_refuses_more_decimals_than_an_instrument_may_have_without_building_them(
        ) -> None:
    for decimals in (7, 99_999_999_999, -1, True):
        with pytest.raises(ValueError):
            parse_price("1", decimals)  # type: ignore[arg-type]
