"""The wire protocol, sans I/O: frames to requests, field values checked, values to frames.

A request is `{op, id, args}`; every request gets exactly one response `{id, ok, result}` or
`{id, ok: false, error: {code, msg}}`; pushes carry a channel `ch`. JSON travels in text frames,
MessagePack in binary frames, with the same keys and value types in both: prices and quantities
are decimal strings at the instrument's precision, ids are strings, times are integers whose
name says the unit (`ts_us`). Nothing here reads a clock or a socket: the caller passes `ts_us`
and the instrument specs in, and gets values (or a `RequestError`) back.

Errors: `RequestError(code, msg)` is the remote side's fault and becomes an error response; the
connection lives on. Codes are stable strings (see `Code`); engine rejections use the engine's
reason names (`Reject.name`). The order-entry requests become engine commands in
order_commands.py, with these readers.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any

import msgpack
import msgspec

from exchange.engine import (
    TradingState,
)
from exchange.engine.commands import AddInstrument
from exchange.engine.instrument import INT64_MAX, format_price, parse_price, parse_qty
from exchange.engine.validation import MAX_ID_LENGTH
from exchange.gateway import schemas
from exchange.gateway.schemas import UNSET

JSON_SUBPROTOCOL = "exchange.json.v1"
MSGPACK_SUBPROTOCOL = "exchange.msgpack.v1"
SUBPROTOCOLS = (JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL)


class Code:
    """Error codes of the gateway itself (engine rejections add the `Reject` names)."""

    BAD_ENCODING = "BAD_ENCODING"  # not JSON / MessagePack, or not a map
    BAD_REQUEST = "BAD_REQUEST"  # missing or mistyped field
    UNKNOWN_OP = "UNKNOWN_OP"
    UNKNOWN_FIELD = "UNKNOWN_FIELD"  # a field the op (or the envelope) does not define
    UNAUTHENTICATED = "UNAUTHENTICATED"  # before logon, or a bad key
    FORBIDDEN = "FORBIDDEN"  # the role or account may not do this
    RATE_LIMITED = "RATE_LIMITED"
    TOO_MANY_STREAMS = "TOO_MANY_STREAMS"  # the connection's market-data streams are at the cap
    UNKNOWN_INSTRUMENT = "UNKNOWN_INSTRUMENT"
    INVALID_PRICE = "INVALID_PRICE"
    INVALID_PRICE_INCREMENT = "INVALID_PRICE_INCREMENT"  # more decimals than the instrument has
    INVALID_QUANTITY = "INVALID_QUANTITY"
    UNKNOWN_ORDER = "UNKNOWN_ORDER"
    TOO_LATE_TO_CANCEL = "TOO_LATE_TO_CANCEL"
    DUPLICATE_ORDER = "DUPLICATE_ORDER"
    STATUS_UNKNOWN = "STATUS_UNKNOWN"  # the venue stopped before the request was durable
    UNKNOWN_KEY = "UNKNOWN_KEY"
    NOT_SUPPORTED = "NOT_SUPPORTED"  # an op this venue does not serve (a cluster gateway's)


class RequestError(Exception):
    """A request the remote side got wrong; it becomes `{ok: false, error: {code, msg}}`."""

    def __init__(self, code: str, msg: str) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg


ENVELOPE_FIELDS = frozenset(("op", "id", "args"))


def fields(*names: str) -> frozenset[str]:
    """The argument names an op defines (`Op.fields`); any other is UNKNOWN_FIELD."""
    return frozenset(names)


def check_fields(args: Mapping[Any, Any], defined: frozenset[str], where: str = "args") -> None:
    """RequestError(UNKNOWN_FIELD) naming the first field not in `defined`. O(fields)."""
    for key in args:
        if key not in defined:
            raise RequestError(Code.UNKNOWN_FIELD, f"unknown field {where}.{_shown(key)}")


def _shown(value: Any) -> str:
    """A client's value in an error message: short, and always encodable (repr escapes)."""
    return ascii(value)[:70]


class Request:
    __slots__ = ("args", "id", "op")

    def __init__(self, op: str, request_id: str | None, args: Any) -> None:
        """`args`: the op's Struct (schemas.ARGS) when it decoded as one, else a map."""
        self.op = op
        self.id = request_id
        self.args = args


# -- frames ------------------------------------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def decode_frame(frame: str | bytes) -> Request:
    """The request in one frame: JSON if text, MessagePack if binary. Cost: O(frame).

    The envelope and, for the ops with a schema, the args are decoded in C into Structs
    (schemas.py); anything those decoders refuse is read again as a generic map
    (`_decode_generic`), which says exactly what is wrong, or hands the handler the map.
    Raises RequestError(BAD_ENCODING) for bytes that are not a map, RequestError(BAD_REQUEST)
    for a map that is not a request; the error's `request_id` is set when the id was readable.
    """
    binary = type(frame) is not str
    try:
        envelope = schemas.ENVELOPE[binary].decode(frame)  # type: ignore[arg-type]
        request_id = envelope.id
        if not request_id.isprintable():
            raise ValueError(request_id)
        decoders = schemas.ARGS_DECODERS.get(envelope.op)
        raw = envelope.args
        if decoders is not None:
            return Request(envelope.op, request_id, decoders[binary].decode(raw) if raw
                           else schemas.ARGS[envelope.op]())
        args = (_decode_args_msgpack(raw) if binary else _json_decoder.decode(bytes(raw).decode())
                ) if raw else {}
        if type(args) is dict:
            return Request(envelope.op, request_id, args)
    except (msgspec.MsgspecError, ValueError, TypeError, RecursionError,
            msgpack.UnpackException):
        pass
    return _decode_generic(frame)


def _decode_args_msgpack(raw: Any) -> Any:
    return msgpack.unpackb(raw, raw=False, strict_map_key=True)


def _decode_generic(frame: str | bytes) -> Request:
    """`decode_frame` for the frames its Struct decoders refuse: the frame as a generic map,
    every envelope rule checked in Python (the protocol's own error for each)."""
    try:
        if isinstance(frame, str):
            message = _json_decoder.decode(frame)
        else:
            message = msgpack.unpackb(frame, raw=False, strict_map_key=True)
    except (ValueError, TypeError, RecursionError, msgpack.UnpackException) as exc:
        raise RequestError(Code.BAD_ENCODING, f"undecodable frame: {str(exc)[:100]}") from None
    if type(message) is not dict:
        raise RequestError(Code.BAD_ENCODING, "a request must be a map")
    request_id = message.get("id")
    if not _is_name(request_id):
        raise RequestError(Code.BAD_REQUEST, "id must be a string of 1-64 printable characters")
    op, args = message.get("op"), message.get("args", {})
    try:
        if type(op) is not str or type(args) is not dict:
            raise RequestError(Code.BAD_REQUEST, "op must be a string and args a map")
        if len(message) > 2 + ("args" in message):
            check_fields(message, ENVELOPE_FIELDS, "request")
    except RequestError as error:
        error.request_id = request_id  # type: ignore[attr-defined]
        raise
    return Request(op, request_id, args)


# one decoder and one encoder, made once (json.loads/dumps with options make one per call)
_json_decoder = json.JSONDecoder(parse_constant=_no_constant)
_json_encoder = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


_fast_json = msgspec.json.Encoder()


def encode_json(message: Mapping[str, Any]) -> bytes:
    """UTF-8 JSON (compact, ASCII: other characters \\u-escaped) for a text frame. Encoded in C
    (msgspec); a message with a non-ASCII character goes through the stdlib encoder, so the
    bytes are the ones docs/protocol.md shows. A float that is not finite becomes null (the
    gateway's messages carry none: prices and quantities are decimal strings)."""
    data = _fast_json.encode(message)
    if data.isascii():
        return data
    return _json_encoder.encode(message).encode()


encode_msgpack = msgspec.msgpack.Encoder().encode  # byte-identical to msgpack-python's Packer


ENCODERS: dict[str, Callable[[Mapping[str, Any]], bytes]] = {
    JSON_SUBPROTOCOL: encode_json, MSGPACK_SUBPROTOCOL: encode_msgpack,
}


def ok(request_id: str | None, result: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": request_id, "ok": True, "result": result}


def error(request_id: str | None, code: str, msg: str) -> dict[str, Any]:
    return {"id": request_id, "ok": False, "error": {"code": code, "msg": msg}}


# -- fields ------------------------------------------------------------------------------------


def _is_name(value: Any) -> bool:
    return type(value) is str and 0 < len(value) <= MAX_ID_LENGTH and value.isprintable()


# Each reader takes a field's value as sent (`UNSET`: not sent, as a schema's Struct holds it)
# and says what is wrong with it in the protocol's words; `name(args, key)` etc. read a map.


def name_of(value: Any, key: str, default: Any = ...) -> Any:
    """A required (or defaulted) identifier: a string of 1-64 printable characters."""
    if value is UNSET:
        value = default
    if value is ...:
        raise RequestError(Code.BAD_REQUEST, f"{key} is required")
    if value is not default and not _is_name(value):
        raise RequestError(Code.BAD_REQUEST, f"{key} must be a string of 1-64 printable characters")
    return value


def name(args: Mapping[str, Any], key: str, default: Any = ...) -> Any:
    return name_of(args.get(key, UNSET), key, default)


def flag_of(value: Any, key: str, default: bool = False) -> bool:
    if value is UNSET:
        return default
    if type(value) is not bool:
        raise RequestError(Code.BAD_REQUEST, f"{key} must be true or false")
    return value


def flag(args: Mapping[str, Any], key: str, default: bool = False) -> bool:
    return flag_of(args.get(key, UNSET), key, default)


def integer_of(value: Any, key: str, default: Any = ..., low: int = 0,
               high: int = INT64_MAX) -> Any:
    """An integer field (times, counts): a real int in [low, high], never a bool or float."""
    if value is UNSET:
        value = default
    if value is ...:
        raise RequestError(Code.BAD_REQUEST, f"{key} is required")
    if value is not default and (type(value) is not int or not low <= value <= high):
        raise RequestError(Code.BAD_REQUEST, f"{key} must be an integer in [{low}, {high}]")
    return value


def integer(args: Mapping[str, Any], key: str, default: Any = ..., low: int = 0,
            high: int = INT64_MAX) -> Any:
    return integer_of(args.get(key, UNSET), key, default, low, high)


def choice_of(value: Any, key: str, enum: type, default: Any = ...) -> Any:
    """An enum member by its name ("BUY", "GTC")."""
    if value is UNSET:
        value = default
    if value is ...:
        raise RequestError(Code.BAD_REQUEST, f"{key} is required")
    if value is default:
        return value
    member = _names(enum).get(value) if type(value) is str else None
    if member is None:
        names = ", ".join(_names(enum))
        raise RequestError(Code.BAD_REQUEST, f"{key} must be one of {names}")
    return member


def choice(args: Mapping[str, Any], key: str, enum: type, default: Any = ...) -> Any:
    return choice_of(args.get(key, UNSET), key, enum, default)


@functools.cache
def _names(enum: type) -> dict[str, Any]:
    return dict(enum.__members__)  # type: ignore[attr-defined]


def price_of(value: Any, key: str, decimals: int, required: bool = True) -> int | None:
    """Price units from a decimal string; over-precision is INVALID_PRICE_INCREMENT."""
    if value is None or value is UNSET:
        if required:
            raise RequestError(Code.INVALID_PRICE, f"{key} is required")
        return None
    if type(value) is not str:
        raise RequestError(Code.INVALID_PRICE, f"{key} must be a decimal string")
    known = _prices.get((value, decimals))
    if known is not None:
        return known
    try:
        return _remembered(_prices, (value, decimals), parse_price(value, decimals))
    except ValueError as exc:
        code = Code.INVALID_PRICE_INCREMENT if "decimals" in str(exc) else Code.INVALID_PRICE
        raise RequestError(code, str(exc)[:120]) from None


# Prices and quantities near the touch repeat: each spelling is parsed once (parse_price is a
# regex and a few string operations, ~1 us; a hit is one dict lookup). Only valid spellings are
# kept, at most _REMEMBERED of each (then forgotten at once, so memory stays bounded).
_REMEMBERED = 4096
_prices: dict[tuple[str, int], int] = {}
_lots: dict[str, int] = {}


def _remembered(cache: dict[Any, int], key: Any, value: int) -> int:
    if len(cache) >= _REMEMBERED:
        cache.clear()
    cache[key] = value
    return value


def price(args: Mapping[str, Any], key: str, decimals: int, required: bool = True) -> int | None:
    return price_of(args.get(key), key, decimals, required)


def quantity_of(value: Any, key: str, required: bool = True) -> int | None:
    """Whole lots from a decimal string of digits, at least 1."""
    if (value is None or value is UNSET) and not required:
        return None
    lots = _lots.get(value) if type(value) is str else None
    try:
        if lots is None:
            lots = _remembered(_lots, value, parse_qty(value))
    except ValueError:
        raise RequestError(Code.INVALID_QUANTITY, f"{key} must be a string of ASCII digits "
                                                  "without leading zeros") from None
    if lots <= 0:
        raise RequestError(Code.INVALID_QUANTITY, f"{key} must be at least 1")
    return lots


def quantity(args: Mapping[str, Any], key: str, required: bool = True) -> int | None:
    return quantity_of(args.get(key), key, required)


def whole_number(value: Any, key: str) -> int:
    """The one rule for every number sent as a string (ids, counts, limits): ASCII digits
    without leading zeros, at most 18 (`parse_qty`); "¹", "١", "01", "+1" are BAD_REQUEST."""
    try:
        return parse_qty(value)
    except ValueError:
        raise RequestError(Code.BAD_REQUEST, f"{key} must be a string of ASCII digits "
                                             "without leading zeros") from None


def order_ref(args: Any) -> tuple[int | None, str | None]:
    """(order_id, cl_ord_id) naming an order: `order_id` (a string of digits) or
    `orig_cl_ord_id`/`cl_ord_id`; exactly one is set. `args`: a map or a Struct with them."""
    if isinstance(args, Mapping):
        return order_ref_of(args.get("order_id"), args.get("orig_cl_ord_id", UNSET),
                            args.get("cl_ord_id"))
    return order_ref_of(args.order_id, args.orig_cl_ord_id, args.cl_ord_id)


def order_ref_of(order_id: Any, orig_cl_ord_id: Any, cl_ord_id: Any) -> tuple[int | None, str | None]:
    if order_id is not None and order_id is not UNSET:
        return whole_number(order_id, "order_id"), None
    named = cl_ord_id if orig_cl_ord_id is UNSET else orig_cl_ord_id
    if named is None or named is UNSET:
        raise RequestError(Code.BAD_REQUEST, "order_id or orig_cl_ord_id is required")
    return None, name_of(named, "cl_ord_id")


# -- instruments ------------------------------------------------------------------------------


def spec_for(specs: Mapping[str, AddInstrument], args: Mapping[str, Any]) -> AddInstrument:
    return spec_of(specs, args.get("sym", UNSET))


def spec_of(specs: Mapping[str, AddInstrument], symbol: Any) -> AddInstrument:
    symbol = name_of(symbol, "sym")
    spec = specs.get(symbol)
    if spec is None:
        raise RequestError(Code.UNKNOWN_INSTRUMENT, f"no instrument {symbol!r}")
    return spec


def trading_state(args: Mapping[str, Any]) -> TradingState:
    return choice(args, "state", TradingState)  # type: ignore[no-any-return]


def instrument_view(spec: AddInstrument, state: TradingState) -> dict[str, Any]:
    decimals = spec.price_decimals
    band = None
    if spec.reference_price is not None and spec.band_ticks is not None:
        band = format_price(spec.band_ticks * spec.tick_size, decimals)
    return {
        "sym": spec.symbol, "commodity": spec.commodity, "grade": spec.grade,
        "location": spec.location, "delivery_period": spec.delivery_period, "unit": spec.unit,
        "lot_size": str(spec.lot_size), "tick": format_price(spec.tick_size, decimals),
        "price_decimals": decimals, "min_qty": str(spec.min_qty), "max_qty": str(spec.max_qty),
        "reference_px": None if spec.reference_price is None
        else format_price(spec.reference_price, decimals),
        "band": band, "state": state.name,
    }
