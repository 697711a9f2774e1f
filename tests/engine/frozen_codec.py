"""The codec as it was before the compiled fast path (e89036b), frozen: the definition of the
bytes that tests/engine/test_codec_compiled.py holds today's codec to. Do not edit. (The kind
numbers and enum tables are the codec's own: they are data that never changes.)"""

from __future__ import annotations

import typing
from enum import IntEnum
from typing import Any

import msgpack

from exchange.engine.codec import KIND_OF, KINDS, CodecError
from exchange.engine.enums import members


def _enum_fields(cls: type) -> tuple[tuple[int, type[IntEnum]], ...]:
    hints = typing.get_type_hints(cls)
    found = []
    for position, name in enumerate(cls._fields):  # type: ignore[attr-defined]
        for candidate in typing.get_args(hints[name]) or (hints[name],):
            if isinstance(candidate, type) and issubclass(candidate, IntEnum):
                found.append((position, candidate))
    return tuple(found)


_ENUMS = {kind: tuple((position, members(enum)) for position, enum in _enum_fields(cls))
          for kind, cls in KINDS.items()}
_ARITY = {kind: len(cls._fields) for kind, cls in KINDS.items()}  # type: ignore[attr-defined]

_packer = msgpack.Packer(autoreset=True)


def encode(record: Any) -> bytes:
    return _packer.pack((KIND_OF[type(record)], record))


def decode(data: bytes) -> Any:
    try:
        kind, fields = msgpack.unpackb(data, use_list=True)
        cls = KINDS[kind]
        if type(fields) is not list:
            raise CodecError(f"fields of kind {kind} are not an array")
        for position, values in _ENUMS[kind]:
            if position < len(fields) and fields[position] is not None:
                member = values.get(fields[position])
                if member is None:
                    raise CodecError(f"kind {kind}, field {position}: no such value "
                                     f"{fields[position]!r}")
                fields[position] = member
        if len(fields) == _ARITY[kind]:
            return tuple.__new__(cls, fields)
        return cls(*fields)
    except CodecError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise CodecError(f"not a valid record: {exc}") from None
