"""The Struct decoders are a fast path only: every frame gets the answer the field readers give."""

from __future__ import annotations

import json
import random

import msgpack
import pytest

from exchange import demo
from exchange.gateway import ops, order_commands, protocol
from exchange.gateway.protocol import RequestError, decode_frame
from exchange.gateway.schemas import ARGS, NewOrderArgs, field_names

SPECS = {spec.symbol: spec for spec in demo.INSTRUMENTS}
WHEAT = "WHEAT-M2-CTA-2703"

# values each field may be sent with: good ones, and every kind of wrong
GOOD_ORDER = {"sym": WHEAT, "side": "BUY", "qty": "5", "px": "210.25", "cl_ord_id": "c"}
VALUES = [None, True, 0, 1, -1, 2**63, 2**64, 1.5, "", "5", "05", "210.25", "210.251", "BUY",
          "SELL", "buy", "LIMIT", "MARKET", "IOC", "GTD", "x" * 65, "é", "\u00b9", [], {},
          ["5"], WHEAT, "DECREMENT_BOTH", 1_700_000_000_000_000]


def outcome(fn, *args):  # type: ignore[no-untyped-def]
    """The command made, or the error (code, msg) raised."""
    try:
        return fn(*args)
    except RequestError as exc:
        return (exc.code, exc.msg)


def via_frame(args: dict, binary: bool):  # type: ignore[no-untyped-def]
    message = {"op": "new_order", "id": "r", "args": args}
    frame = msgpack.packb(message) if binary else json.dumps(message)
    request = decode_frame(frame)
    if type(request.args) is dict:
        try:
            protocol.check_fields(request.args, ops.OPS["new_order"].fields)
        except RequestError as exc:
            return (exc.code, exc.msg)
    return outcome(order_commands.new_order, request.args, "AGRO-1", 7, SPECS)


def test_a_well_formed_order_decodes_to_its_struct_in_both_encodings() -> None:
    for binary in (False, True):
        message = {"op": "new_order", "id": "r", "args": GOOD_ORDER}
        request = decode_frame(msgpack.packb(message) if binary else json.dumps(message))
        assert type(request.args) is NewOrderArgs
        assert request.args.qty == "5" and request.args.tif is protocol.UNSET


@pytest.mark.parametrize("binary", [False, True])
def test_struct_and_map_readings_of_an_order_agree_on_every_value(binary: bool) -> None:
    """Each field with each value (and random mixes): the frame's answer through the Struct
    decoder equals the field readers' answer on the plain map (command, or code and message)."""
    fields = sorted(field_names(NewOrderArgs))
    cases = [{**GOOD_ORDER, key: value} for key in fields for value in VALUES]
    cases += [{k: v for k, v in GOOD_ORDER.items() if k != key} for key in GOOD_ORDER]
    rng = random.Random(11)
    cases += [{key: rng.choice(VALUES) for key in rng.sample(fields, rng.randint(1, 6))}
              for _ in range(300)]
    cases.append({**GOOD_ORDER, "extra": 1})
    for args in cases:
        if binary and 2**64 in args.values():
            continue  # MessagePack has no such integer
        try:
            expected = outcome(order_commands.new_order, dict(args), "AGRO-1", 7, SPECS)
        except TypeError:  # an unknown field: refused by name before the readers
            expected = ("UNKNOWN_FIELD", "unknown field args.'extra'")
        assert via_frame(args, binary) == expected, args


def test_a_frame_its_schema_refuses_is_answered_by_the_field_readers() -> None:
    request = decode_frame(json.dumps({"op": "new_order", "id": "r",
                                       "args": {**GOOD_ORDER, "qty": 5}}))
    assert type(request.args) is dict
    with pytest.raises(RequestError) as raised:
        order_commands.new_order(request.args, "AGRO-1", 7, SPECS)
    assert raised.value.code == "INVALID_QUANTITY"


def test_each_schema_defines_exactly_its_ops_fields() -> None:
    for op, schema in ARGS.items():
        assert ops.OPS[op].fields == field_names(schema), op


@pytest.mark.parametrize("message", [
    {"id": "1", "ok": True, "result": {"order_id": "17", "px": "210.25", "n": 3, "none": None,
                                       "nested": [["bid", "210.00", "5"]], "flag": False}},
    {"ch": "book", "type": "delta", "sym": WHEAT, "seq": 2**63 - 1, "first_seq": 1,
     "changes": [["ask", "1.5", "0"]], "checksum": 4294967295, "ts_us": -5},
    {"id": "é\u20ac\U0001f600", "ok": False, "error": {"code": "X", "msg": "\u00b9 \"q\" \\ \n"}},
    {"rates": {"orders_per_s": 1234.5, "window_s": 0.1}},
])
def test_encoders_write_the_bytes_of_the_stdlib_and_msgpack_python(message: dict) -> None:
    assert protocol.encode_json(message) == json.dumps(message, separators=(",", ":")).encode()
    assert protocol.encode_msgpack(message) == msgpack.packb(message)
