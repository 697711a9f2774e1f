"""The compiled codec (recordpack.pyx behind codec.encode/decode) gives exactly the bytes and
the results of the codec before it (frozen_codec.py): on a large mixed stream of every command
and event kind, on edge values, and on random and mutated bytes (CodecError, never a crash)."""

from __future__ import annotations

from typing import Any

import msgpack
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.codec_bench import import_rows, mixed_stream
from exchange.engine import codec
from exchange.engine.commands import ImportInstruments, SubmitOrder
from exchange.engine.enums import Side
from exchange.engine.events import CommandRejected
from exchange.engine.reasons import Reject
from tests.engine import frozen_codec

STREAM = mixed_stream(2_000)
INTS = [0, 1, 31, 127, 128, 255, 256, 65535, 65536, 2**31 - 1, 2**31, 2**32 - 1, 2**32,
        2**63 - 1, 2**63, 2**64 - 1, -1, -31, -32, -33, -127, -128, -129, -32767, -32768,
        -32769, -(2**31), -(2**31) - 1, -(2**63)]
TEXTS = ["", "a" * 31, "a" * 32, "é" * 100, "b" * 255, "b" * 256, "c" * 65535, "c" * 65536,
         "✓ grüße 日本"]


def outcome(function: Any, argument: Any) -> tuple[str, Any]:
    try:
        value = function(argument)
    except Exception as exc:  # noqa: BLE001 - the outcome compared is the exception itself
        return type(exc).__name__, str(exc)
    if isinstance(value, tuple):
        return "value", (type(value), [(type(v), v) for v in value], value)
    return "value", (type(value), value)


def same_decode(data: bytes) -> None:
    assert outcome(codec.decode, data) == outcome(frozen_codec.decode, data)


def test_a_large_mixed_stream_encodes_to_the_frozen_codecs_bytes_and_round_trips() -> None:
    assert len({type(record) for record in STREAM}) == len(codec.KINDS)
    for record in STREAM:
        data = codec.encode(record)
        assert data == frozen_codec.encode(record), record
        decoded = codec.decode(data)
        assert decoded == record and type(decoded) is type(record)
        same_decode(data)


def test_the_bench_stream_holds_operator_commands_and_rejects() -> None:
    kinds = {type(record).__name__ for record in STREAM}
    assert {"ImportInstruments", "IssueKey", "BustTrade", "SetKillSwitch", "CommandRejected",
            "OrderRejected", "CancelRejected", "InstrumentsImported"} <= kinds
    assert any(type(r) is CommandRejected and r.reason is Reject.DUPLICATE_INSTRUMENT
               for r in STREAM)


def edge_records() -> list[Any]:
    base = SubmitOrder(1, "A1", "c1", "WHEAT", Side.BUY, 5, 100)
    records = [base._replace(qty=value, ts_us=value) for value in INTS]
    records += [base._replace(account=text, symbol=text) for text in TEXTS]
    records += [base._replace(price=value) for value in (1.5, -0.0, 1e308, float("inf"))]
    records += [ImportInstruments(7, rows) for rows in (
        [], [[]], import_rows(15), import_rows(16), [[1] * 15], [[1] * 16], [[None] * 65536],
        [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],  # deep
        [(1, "t", None)])]
    return records


def test_edge_values_encode_to_the_same_bytes_and_decode_alike() -> None:
    for record in edge_records():
        data = codec.encode(record)
        assert data == frozen_codec.encode(record), record
        same_decode(data)


def test_values_outside_the_fast_path_are_the_python_codecs_to_pack_or_refuse() -> None:
    base = SubmitOrder(1, "A1", "c1", "WHEAT", Side.BUY, 5, 100)
    for record in (base._replace(account=b"bytes"), base._replace(price={"a": 1}),
                   ImportInstruments(1, bytearray(b"xy"))):
        assert codec.encode(record) == frozen_codec.encode(record)
        same_decode(codec.encode(record))
    for record in (base._replace(qty=2**64), base._replace(qty=-(2**63) - 1),
                   base._replace(account="\udc80"), base._replace(price=object())):
        assert outcome(codec.encode, record) == outcome(frozen_codec.encode, record)
        assert outcome(codec.encode, record)[0] != "value"


def test_malformed_and_unusual_records_decode_as_before() -> None:
    submit = codec.encode(SubmitOrder(1, "A1", "c1", "WHEAT", Side.BUY, 5, 100))
    cases = [b"", b"\x92", submit[:-1], submit + b"\x00", submit.replace(b"\x01", b"\x09", 1),
             msgpack.packb([101, [1, "a1", "c", "PIPE", 1, 5, 100]]),  # old record: defaults
             msgpack.packb([101, [1, "a1", "c", "PIPE", 7, 5, 100]]),  # no such Side
             msgpack.packb([101, [1, "a1", "c", "PIPE", [1], 5, 100]]),  # unhashable enum
             msgpack.packb([101.0, [1]]), msgpack.packb([True, [1]]), msgpack.packb([999, []]),
             msgpack.packb({101: 1, 2: 3}), msgpack.packb([102, "abc"]),
             msgpack.packb([102, [1, b"bin", 3]]), msgpack.packb([102, [1, {"k": 1}, 3]]),
             msgpack.packb([102, [1, msgpack.ExtType(5, b"x"), 3]]),
             msgpack.packb([102, [1.5, "a", 3]], use_single_float=True),
             msgpack.packb([102, [1, "a", 3, 4]]), b"\x92\xcc\x66\x93\x01\xa1\xff\x03"]
    for data in cases:
        same_decode(data)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_decode_as_the_frozen_codec_does(data: bytes) -> None:
    same_decode(data)
    try:
        codec.decode(data)
    except codec.CodecError:
        pass


SAMPLES = [codec.encode(record) for record in STREAM[::97]]


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(SAMPLES), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255),
                                                    st.sampled_from(["set", "insert", "delete"])),
                                          min_size=1, max_size=4),
       st.integers(0, 10_000))
def test_mutated_records_decode_as_the_frozen_codec_does_or_raise_codec_error(
        data: bytes, edits: list[tuple[int, int, str]], cut: int) -> None:
    mutated = bytearray(data)
    for place, byte, how in edits:
        place %= len(mutated) + 1
        if how == "insert":
            mutated.insert(place, byte)
        elif mutated and place < len(mutated):
            if how == "set":
                mutated[place] = byte
            else:
                del mutated[place]
    mutated = mutated[:len(mutated) - cut % 3]
    same_decode(bytes(mutated))
    kind, _ = outcome(codec.decode, bytes(mutated))
    assert kind in ("value", "CodecError")


values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**64), 2**65) | st.text(max_size=40)
    | st.floats(allow_nan=False) | st.binary(max_size=4),
    lambda inner: st.lists(inner, max_size=20) | st.tuples(inner, inner), max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(codec.KINDS)), st.data())
def test_any_field_values_encode_as_the_frozen_codec_does(kind: int, data: st.DataObject) -> None:
    cls = codec.KINDS[kind]
    record = tuple.__new__(cls, [data.draw(values) for _ in cls._fields])
    assert outcome(codec.encode, record) == outcome(frozen_codec.encode, record)
    encoded = outcome(codec.encode, record)
    if encoded[0] == "value":
        same_decode(encoded[1][1])
