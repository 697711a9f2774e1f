"""The codec: lossless, deterministic round trips; CodecError on garbage; old records decode."""

from __future__ import annotations

import typing
from enum import IntEnum
from typing import Any

import msgpack
import pytest

from exchange.engine import codec
from exchange.engine.commands import COMMAND_TYPES, MassCancel, SubmitOrder
from exchange.engine.enums import OrdType, Side, StpMode, TimeInForce
from exchange.engine.events import EVENT_TYPES


def sample_value(hint: Any, with_none: bool) -> Any:
    """A value of the annotated type: the last enum member, -7 for ints, None if allowed."""
    if typing.get_origin(hint) is list:
        return [[-7, "row"]]
    options = typing.get_args(hint) or (hint,)
    if with_none and type(None) in options:
        return None
    kind = next(option for option in options if option is not type(None))
    if isinstance(kind, type) and issubclass(kind, IntEnum):
        return list(kind)[-1]
    return {int: -7, str: "text é", bool: True}[kind]


def sample(cls: type, with_none: bool = False) -> Any:
    hints = typing.get_type_hints(cls)
    return cls(*(sample_value(hints[name], with_none) for name in cls._fields))  # type: ignore[attr-defined]


ALL_TYPES = COMMAND_TYPES + EVENT_TYPES


@pytest.mark.parametrize("cls", ALL_TYPES, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("with_none", [False, True])
def test_every_command_and_event_type_round_trips_with_its_enums_restored(cls, with_none) -> None:
    record = sample(cls, with_none)
    decoded = codec.decode(codec.encode(record))
    assert type(decoded) is cls and decoded == record
    for before, after in zip(record, decoded):
        assert type(after) is type(before)


def test_every_type_has_its_own_stable_kind() -> None:
    kinds = [codec.kind_of(sample(cls)) for cls in ALL_TYPES]
    assert len(set(kinds)) == len(kinds)
    assert codec.kind_of(sample(SubmitOrder)) == 101


def test_encoding_is_deterministic_and_ints_and_enums_encode_alike() -> None:
    order = SubmitOrder(1, "a1", "c", "PIPE", Side.SELL, 5, 100, OrdType.LIMIT, TimeInForce.GTC)
    plain = order._replace(side=2, ord_type=1, tif=1, stp=2)
    assert codec.encode(order) == codec.encode(order) == codec.encode(plain)
    assert codec.decode(codec.encode(plain)).side is Side.SELL


@pytest.mark.parametrize("data", [
    b"", b"\xc1", b"\x93\x01\x02\x03", msgpack.packb([999, []]), msgpack.packb([101]),
    msgpack.packb([101, [1, 2]]), msgpack.packb([101, list(range(20))]),
    msgpack.packb([102, "abc"]), msgpack.packb([102, {"a": 1, "b": 2, "c": 3}]),
    msgpack.packb("hello"), msgpack.packb(None),
    msgpack.packb([216, [1, 2, "S", 9, 100, 5]]),  # side 9 is no Side
    codec.encode(sample(SubmitOrder))[:-1], codec.encode(sample(SubmitOrder)) + b"\x00",
])
def test_garbage_raises_codec_error(data: bytes) -> None:
    with pytest.raises(codec.CodecError):
        codec.decode(data)


def test_an_old_record_with_fewer_fields_decodes_with_the_defaults() -> None:
    old_submit = msgpack.packb([101, [1, "a1", "c", "PIPE", 1, 5, 100]])
    assert codec.decode(old_submit) == SubmitOrder(1, "a1", "c", "PIPE", Side.BUY, 5, 100)
    decoded = codec.decode(old_submit)
    assert decoded.stp is StpMode.CANCEL_INCOMING and decoded.display_qty is None
    old_mass_cancel = msgpack.packb([104, [3, "a1"]])
    assert codec.decode(old_mass_cancel) == MassCancel(3, "a1")
