"""Tampered ledgers: `verify` fails and names the first bad seq, whatever was changed."""

from __future__ import annotations

import shutil
from pathlib import Path

import msgpack
import pytest

from exchange.engine import SubmitOrder, codec
from exchange.ledger import LedgerError, audit
from exchange.ledger.schema import COMMAND_KINDS, body_records
from tests.ledger.history import history, write
from tests.ledger.rowtable import entry_table, query


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pristine") / "ledger.db"
    write(path, history(600, seed=21), batch_size=20)
    assert not path.with_name("ledger.db-wal").exists()  # closed cleanly: one file to copy
    return path


@pytest.fixture
def ledger(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "ledger.db"
    shutil.copy(pristine, copy)
    return copy


def tamper(path: Path, *sql: str, params: tuple = ()) -> None:
    """Run `sql` on the ledger's entries as a table `events` (rowtable.py) and its batches."""
    with entry_table(path) as conn:
        for statement in sql:
            conn.execute(statement, params if "?" in statement else ())


def first_bad_seq(path: Path, replay: bool = True) -> int:
    with pytest.raises(LedgerError) as raised:
        audit.verify(path, replay=replay)
    seq = raised.value.seq
    assert seq is not None and f"seq {seq}" in str(raised.value)
    return seq


def row(path: Path, sql: str) -> tuple:
    return query(path, sql)[0]


def body_of(records: list[bytes]) -> bytes:
    return msgpack.Packer().pack_array_header(len(records)) + b"".join(records)


def test_the_untouched_ledger_verifies(ledger: Path) -> None:
    summary = audit.verify(ledger)
    assert summary.commands == 608 and summary.trades > 10 and summary.batches == 31


def a_trade(ledger: Path) -> tuple[int, bytes, int]:
    """(row seq, row body, index of a trade record in it) for a row that traded."""
    for seq, body in query(
            ledger, "SELECT seq, body FROM events WHERE kind = 101 AND seq > 500 ORDER BY seq"):
        records = body_records(body)
        kinds = [codec.decode(record) for record in records]
        found = [i for i, record in enumerate(kinds) if type(record).__name__ == "TradeExecuted"]
        if found:
            return seq, body, found[-1]
    raise AssertionError("no trade in the history")


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_a_changed_byte_in_an_event_is_named_at_that_events_seq(ledger: Path, where: str) -> None:
    seq, body, index = a_trade(ledger)
    records = body_records(body)
    start = len(body) - sum(len(r) for r in records[index:])
    offset = {"first": start, "middle": start + len(records[index]) // 2,
              "last": start + len(records[index]) - 1}[where]
    changed = body[:offset] + bytes([body[offset] ^ 0x01]) + body[offset + 1:]
    tamper(ledger, "UPDATE events SET body = ? WHERE seq = ?", params=(changed, seq))
    assert first_bad_seq(ledger) == seq + index


def test_a_changed_command_is_named_within_its_entry(ledger: Path) -> None:
    seq, body = row(ledger, "SELECT seq, body FROM events WHERE kind = 101 LIMIT 1 OFFSET 300")
    records = body_records(body)
    command = codec.decode(records[0])
    changed = body_of([codec.encode(command._replace(qty=command.qty + 1)), *records[1:]])
    tamper(ledger, "UPDATE events SET body = ? WHERE seq = ?", params=(changed, seq))
    with pytest.raises(LedgerError, match=f"command at seq {seq}"):
        audit.verify(ledger)
    assert first_bad_seq(ledger) == seq + 1  # its first event no longer follows from it


def test_a_dropped_event_is_named_at_its_seq(ledger: Path) -> None:
    seq, body, index = a_trade(ledger)
    records = body_records(body)
    tamper(ledger, "UPDATE events SET body = ? WHERE seq = ?",
           params=(body_of(records[:index] + records[index + 1:]), seq))
    assert first_bad_seq(ledger) == seq + index


@pytest.mark.parametrize("column, value", [("ts_us", "ts_us + 1"), ("kind", "102")])
def test_a_changed_column_is_named_at_its_row(ledger: Path, column: str, value: str) -> None:
    (seq,) = row(ledger, "SELECT seq FROM events WHERE kind = 101 LIMIT 1 OFFSET 200")
    tamper(ledger, f"UPDATE events SET {column} = {value} WHERE seq = {seq}")
    assert first_bad_seq(ledger) == seq


@pytest.mark.parametrize("replay", [True, False])
def test_a_deleted_row_is_named(ledger: Path, replay: bool) -> None:
    (seq,) = row(ledger, "SELECT seq FROM events WHERE kind = 102 LIMIT 1 OFFSET 3")
    tamper(ledger, f"DELETE FROM events WHERE seq = {seq}")
    assert first_bad_seq(ledger, replay) == seq


def test_a_deleted_first_row_of_a_batch_is_named(ledger: Path) -> None:
    (seq,) = row(ledger, "SELECT first_seq FROM batches WHERE id = 12")
    tamper(ledger, f"DELETE FROM events WHERE seq = {seq}")
    assert first_bad_seq(ledger) == seq


def test_two_reordered_rows_are_named_within_the_first(ledger: Path) -> None:
    first, second = row(ledger, "SELECT a.seq, (SELECT min(seq) FROM events b WHERE b.seq > "
                                "a.seq) FROM events a WHERE a.kind = 101 LIMIT 1 OFFSET 250")
    tamper(ledger,
           f"UPDATE events SET seq = -1 WHERE seq = {first}",
           f"UPDATE events SET seq = {first} WHERE seq = {second}",
           f"UPDATE events SET seq = {second} WHERE seq = -1")
    assert first <= first_bad_seq(ledger) < second


def test_two_reordered_commands_are_named_at_the_first(ledger: Path) -> None:
    first, second = [s for (s,) in query(
        ledger, "SELECT seq FROM events WHERE seq > 1000 LIMIT 2 OFFSET 5")]
    tamper(ledger,
           f"UPDATE events SET seq = -1 WHERE seq = {first}",
           f"UPDATE events SET seq = {first} WHERE seq = {second}",
           f"UPDATE events SET seq = {second} WHERE seq = -1")
    assert first <= first_bad_seq(ledger) <= second


@pytest.mark.parametrize("replay", [True, False])
def test_a_truncated_last_batch_is_named_at_its_first_missing_seq(ledger: Path,
                                                                  replay: bool) -> None:
    first, last = row(ledger, "SELECT first_seq, last_seq FROM batches ORDER BY id DESC LIMIT 1")
    (cut,) = row(ledger, f"SELECT min(seq) FROM events WHERE seq >= {(first + last) // 2}")
    assert first < cut <= last
    tamper(ledger, f"DELETE FROM events WHERE seq >= {cut}")
    assert first_bad_seq(ledger, replay) == cut


def test_a_removed_last_batch_is_a_clean_truncation_that_a_checkpoint_catches(
        ledger: Path) -> None:
    """A batch holds its entries, so removing it leaves no trace in the file (schema 3 left its
    rows behind): only a checkpoint recorded earlier, or the writer's head mark, tell."""
    head = audit.checkpoint(ledger)
    assert head is not None
    tamper(ledger, f"DELETE FROM batches WHERE id = {head.id}")
    audit.verify(ledger, replay=False)
    with pytest.raises(LedgerError, match=f"seq {head.last_seq}: no batch ends there"):
        audit.verify(ledger, expect=(head.last_seq, head.hash), replay=False)


def test_a_rewritten_batch_digest_is_named_within_that_batch(ledger: Path) -> None:
    first, last = row(ledger, "SELECT first_seq, last_seq FROM batches WHERE id = 7")
    tamper(ledger, "UPDATE batches SET digest = 'ff' || substr(digest, 3) WHERE id = 7")
    assert first <= first_bad_seq(ledger) <= last


def test_a_changed_origin_breaks_the_events_hash(ledger: Path) -> None:
    (seq,) = row(ledger, "SELECT seq FROM events WHERE origin IS NOT NULL LIMIT 1 OFFSET 100")
    first, = row(ledger, f"SELECT first_seq FROM batches WHERE first_seq <= {seq} "
                         f"AND last_seq >= {seq}")
    tamper(ledger, f"UPDATE events SET origin = 'operator:mallory' WHERE seq = {seq}")
    assert first_bad_seq(ledger) == first


def test_a_recorded_checkpoint_catches_a_rewritten_history(ledger: Path, tmp_path: Path) -> None:
    head = audit.checkpoint(ledger)
    assert head is not None
    audit.verify(ledger, expect=(head.last_seq, head.hash))
    # the same history but one client order id: same shape, every hash from there differs
    commands = history(600, seed=21)
    index = next(i for i, c in enumerate(commands) if i > 50 and isinstance(c, SubmitOrder))
    commands[index] = commands[index]._replace(cl_ord_id="rewritten")
    other = tmp_path / "rewritten.db"
    write(other, commands, batch_size=20)
    audit.verify(other)
    with pytest.raises(LedgerError, match="rewritten"):
        audit.verify(other, expect=(head.last_seq, head.hash))


def test_command_kinds_are_the_1xx_range() -> None:
    assert min(COMMAND_KINDS) >= 101 and max(COMMAND_KINDS) < 200
