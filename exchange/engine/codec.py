"""One codec for commands and events: MessagePack, lossless, deterministic.

A record encodes as the array `[kind, [field, ...]]`, where `kind` is a stable small integer
(commands 1xx, events 2xx; never renumbered) and the fields are in declaration order. The same
value always gives the same bytes, which is what lets an auditor compare a replay with the
ledger byte for byte. Decoding restores the enum types, so `decode(encode(x)) == x` and
`type(decode(encode(x))) is type(x)`. A record written before fields were appended decodes with
the new fields' defaults.

Errors: `CodecError` for bytes that are not a record of a known kind (corrupt or foreign input).

Two implementations, one behaviour: `encode` and `decode` are the compiled `recordpack`
(C, no per-field Python calls), which writes and reads the records' usual values itself and
hands everything else (unusual value types, and any input it does not accept, so every error)
to `encode_python` / `decode_python`, the msgpack-python codec these bytes were defined by.
tests/engine/test_codec_compiled.py holds them to identical bytes and identical results.
Costs (bench/codec_bench.py): encode O(bytes), decode O(bytes) plus one dict lookup per enum.
"""

from __future__ import annotations

import typing
from enum import IntEnum
from typing import Any

import msgpack

from exchange.engine import commands as c
from exchange.engine import events as e
from exchange.engine.enums import members
from exchange.engine.recordpack import RecordPack

KINDS: dict[int, type] = {
    101: c.SubmitOrder,
    102: c.CancelOrder,
    103: c.AmendOrder,
    104: c.MassCancel,
    105: c.ExpireOrders,
    106: c.AddInstrument,
    107: c.SetTradingState,
    108: c.SetPriceBand,
    109: c.AddAccount,
    110: c.SetAccountLimits,
    111: c.SetCreditLimit,
    112: c.SetKillSwitch,
    113: c.BustTrade,
    114: c.StartTradingDay,
    115: c.ImportInstruments,
    116: c.IssueKey,
    117: c.RevokeKey,
    118: c.SetVolatilityBands,
    119: c.SubmitStopOrder,
    140: c.SetTradingSchedule,
    201: e.OrderAccepted,
    202: e.OrderRejected,
    203: e.TradeExecuted,
    204: e.OrderCanceled,
    205: e.OrderExpired,
    206: e.OrderReplaced,
    207: e.OrderRestated,
    208: e.CancelRejected,
    209: e.MassCanceled,
    210: e.CommandRejected,
    211: e.InstrumentAdded,
    212: e.TradingStateChanged,
    213: e.PriceBandSet,
    214: e.AccountAdded,
    215: e.AccountLimitsSet,
    216: e.BookChanged,
    217: e.CreditLimitSet,
    218: e.KillSwitchSet,
    219: e.TradeBusted,
    220: e.TradingDayStarted,
    221: e.InstrumentsImported,
    222: e.KeyIssued,
    223: e.KeyRevoked,
    224: e.AuctionIndicative,
    225: e.AuctionUncrossed,
    226: e.VolatilityInterruption,
    227: e.AuctionExtended,
    228: e.VolatilityBandsSet,
    229: e.StopOrderAccepted,
    230: e.StopTriggered,
    240: e.TradingScheduleSet,
}
KIND_OF: dict[type, int] = {cls: kind for kind, cls in KINDS.items()}


class CodecError(ValueError):
    """The bytes are not a well-formed record of a known kind."""


def _enum_fields(cls: type) -> tuple[tuple[int, type[IntEnum]], ...]:
    """(position, enum type) for each field annotated with an IntEnum (optional or not)."""
    hints = typing.get_type_hints(cls)
    found = []
    for position, name in enumerate(cls._fields):  # type: ignore[attr-defined]
        for candidate in typing.get_args(hints[name]) or (hints[name],):
            if isinstance(candidate, type) and issubclass(candidate, IntEnum):
                found.append((position, candidate))
    return tuple(found)


# kind -> (position, value -> member) for each enum field: a dict lookup, not Enum.__call__
_ENUMS: dict[int, tuple[tuple[int, dict[int, IntEnum]], ...]] = {
    kind: tuple((position, members(enum)) for position, enum in _enum_fields(cls))
    for kind, cls in KINDS.items()
}
_ARITY: dict[int, int] = {kind: len(cls._fields) for kind, cls in KINDS.items()}  # type: ignore[attr-defined]
_packer = msgpack.Packer(autoreset=True)


def encode_python(record: Any) -> bytes:
    """MessagePack bytes of a command or event (the reference codec). Cost: O(fields)."""
    return _packer.pack((KIND_OF[type(record)], record))


def decode_python(data: bytes) -> Any:
    """The command or event that `encode` turned into `data`; CodecError on anything else
    (the reference codec)."""
    try:
        kind, fields = msgpack.unpackb(data, use_list=True)
        cls = KINDS[kind]
        if type(fields) is not list:  # cls(*"abc") would make a record of characters
            raise CodecError(f"fields of kind {kind} are not an array")
        for position, values in _ENUMS[kind]:
            # an old record may end before a field appended since: it takes the default
            if position < len(fields) and fields[position] is not None:
                member = values.get(fields[position])
                if member is None:
                    raise CodecError(f"kind {kind}, field {position}: no such value "
                                     f"{fields[position]!r}")
                fields[position] = member
        if len(fields) == _ARITY[kind]:
            return tuple.__new__(cls, fields)  # every field present: no defaults to fill
        return cls(*fields)
    except CodecError:
        raise
    except Exception as exc:  # noqa: BLE001 - any malformed input: shape, kind, arity, value
        raise CodecError(f"not a valid record: {exc}") from None


def _enum_table(kind: int) -> tuple[dict[int, IntEnum] | None, ...]:
    """Per field position of kind's record: None, or value -> member for an enum field."""
    table: list[dict[int, IntEnum] | None] = [None] * _ARITY[kind]
    for position, values in _ENUMS[kind]:
        table[position] = values
    return tuple(table)


_compiled = RecordPack(KIND_OF, KINDS, {kind: _enum_table(kind) for kind in KINDS},
                       encode_python, decode_python)
encode = _compiled.encode
"""MessagePack bytes of a command or event (KeyError for anything else). Cost: O(bytes)."""
decode = _compiled.decode
"""The command or event that `encode` turned into `data`; CodecError on anything else."""


def kind_of(record: Any) -> int:
    return KIND_OF[type(record)]

