"""The sans-I/O protocol: frames to requests, fields to integers, strictly."""

from __future__ import annotations

import json

import msgpack
import pytest

from exchange import demo
from exchange.engine import OrdType, Side, TimeInForce
from exchange.gateway import order_commands, protocol
from exchange.gateway.protocol import RequestError, decode_frame
from exchange.gateway.schemas import NewOrderArgs

SPECS = {spec.symbol: spec for spec in demo.INSTRUMENTS}
WHEAT = "WHEAT-M2-CTA-2703"


def code(fn, *args) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(RequestError) as raised:
        fn(*args)
    return raised.value.code


@pytest.mark.parametrize("frame", ["{", "[1]", '"x"', "NaN", b"\xc1", b"\x93\x01\x02\x03",
                                   '{"op":"x","id":"1","args":{"px":NaN}}', "1" * 5000,
                                   "[" * 100_000])
def test_undecodable_or_non_map_frames_are_bad_encoding(frame: str | bytes) -> None:
    assert code(decode_frame, frame) == "BAD_ENCODING"


@pytest.mark.parametrize("message", [{"op": "ping"}, {"op": "ping", "id": 1},
                                     {"op": "ping", "id": ""}, {"op": 5, "id": "1"},
                                     {"op": "ping", "id": "1", "args": []}])
def test_maps_that_are_not_requests_are_bad_requests(message: dict) -> None:
    assert code(decode_frame, json.dumps(message)) == "BAD_REQUEST"
    assert code(decode_frame, msgpack.packb(message)) == "BAD_REQUEST"


def test_json_and_msgpack_frames_decode_to_the_same_request() -> None:
    message = {"op": "new_order", "id": "r1", "args": {"sym": WHEAT, "qty": "5"}}
    for frame in (json.dumps(message), msgpack.packb(message)):
        request = decode_frame(frame)
        assert (request.op, request.id, request.args) == (
            "new_order", "r1", NewOrderArgs(**message["args"]))


def order(**changes: object) -> dict:
    return {"sym": WHEAT, "side": "BUY", "qty": "5", "px": "210.25", "cl_ord_id": "c", **changes}


def test_a_new_order_becomes_a_submit_order_with_integer_units() -> None:
    command = order_commands.new_order(order(tif="IOC"), "AGRO-1", 7, SPECS)
    assert (command.price, command.qty, command.side, command.tif) == (
        21025, 5, Side.BUY, TimeInForce.IOC)
    market = order_commands.new_order(order(ord_type="MARKET", px=None), "AGRO-1", 7, SPECS)
    assert market.price is None and market.ord_type is OrdType.MARKET


@pytest.mark.parametrize(("changes", "expected"), [
    ({"px": "210.251"}, "INVALID_PRICE_INCREMENT"), ({"px": "210.250"}, "INVALID_PRICE_INCREMENT"),
    ({"px": "NaN"}, "INVALID_PRICE"), ({"px": "Infinity"}, "INVALID_PRICE"),
    ({"px": "1e3"}, "INVALID_PRICE"), ({"px": 210.25}, "INVALID_PRICE"),
    ({"px": "9" * 30}, "INVALID_PRICE"), ({"px": None}, "INVALID_PRICE"),
    ({"qty": "0"}, "INVALID_QUANTITY"), ({"qty": "-1"}, "INVALID_QUANTITY"),
    ({"qty": "1.5"}, "INVALID_QUANTITY"), ({"qty": 5}, "INVALID_QUANTITY"),
    ({"qty": "9" * 30}, "INVALID_QUANTITY"), ({"side": "buy"}, "BAD_REQUEST"),
    ({"side": 1}, "BAD_REQUEST"), ({"tif": "NEVER"}, "BAD_REQUEST"),
    ({"post_only": 1}, "BAD_REQUEST"), ({"cl_ord_id": ""}, "BAD_REQUEST"),
    ({"cl_ord_id": "x" * 65}, "BAD_REQUEST"), ({"expire_at_us": True}, "BAD_REQUEST"),
    ({"expire_at_us": 2**64}, "BAD_REQUEST"), ({"sym": "NOPE"}, "UNKNOWN_INSTRUMENT"),
])
def test_bad_order_fields_are_refused_with_a_code(changes: dict, expected: str) -> None:
    assert code(order_commands.new_order, order(**changes), "AGRO-1", 7, SPECS) == expected


def test_encoders_keep_types_and_never_write_nan() -> None:
    message = {"id": "1", "ok": True, "result": {"px": "210.25", "n": 3, "none": None}}
    assert json.loads(protocol.encode_json(message)) == message
    assert msgpack.unpackb(protocol.encode_msgpack(message)) == message
    assert protocol.encode_json({"x": float("nan"), "y": float("inf")}) == b'{"x":null,"y":null}'
