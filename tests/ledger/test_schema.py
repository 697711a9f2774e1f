"""The row layout: a body is the command's codec record and its events' records, in seq order."""

from __future__ import annotations

import msgpack
import pytest

from exchange import demo
from exchange.engine import Engine, MassCancel, Side, SubmitOrder, codec
from exchange.engine.codec import CodecError
from exchange.ledger.schema import body_records, command_record, entry_body, record_count
from tests.ledger.history import history


def test_a_body_is_the_array_of_the_codec_records_of_the_command_and_its_events() -> None:
    engine = Engine()
    for command in history(300, seed=41):
        events = engine.apply(command)
        records = [codec.encode(record) for record in (command, *events)]
        body = entry_body(command, events)
        assert body == msgpack.Packer().pack_array_header(len(records)) + b"".join(records)
        assert body_records(body) == records
        assert command_record(body) == records[0] and record_count(body) == len(records)


def test_an_entry_of_many_events_has_a_longer_array_header() -> None:
    engine = Engine()
    for command in demo.setup():
        engine.apply(command)
    spec = demo.INSTRUMENTS[0]
    for n in range(40):  # resting bids of one account, then one mass cancel: 40+ events
        engine.apply(SubmitOrder(2_000_000, "AGRO-1", f"m{n}", spec.symbol, Side.BUY, 1,
                                 (spec.reference_price or 0) - (1 + n % 5) * spec.tick_size))
    command = MassCancel(2_000_001, "AGRO-1", None)
    events = engine.apply(command)
    assert len(events) > 40
    body = entry_body(command, events)
    assert body[0] == 0xDC and record_count(body) == len(events) + 1  # array 16, not fixarray
    assert [codec.decode(record) for record in body_records(body)] == [command, *events]


@pytest.mark.parametrize("body", [b"", b"\x01", b"\x90", b"\x92\x92\x65", b"\x91\x92\x65\x90\x00"])
def test_a_malformed_body_is_a_codec_error(body: bytes) -> None:
    with pytest.raises(CodecError):
        body_records(body)
