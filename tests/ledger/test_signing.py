"""The ledger proves its origin: every batch and snapshot is signed with the venue's key, the
server refuses what its key did not sign, and the head mark catches a ledger cut short."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import stat
from pathlib import Path

import msgpack
import pytest

from exchange.engine import Engine
from exchange.gateway.keys import new_key
from exchange.ledger import Batch, Entry, Ledger, LedgerError, audit, reader, signing, writes
from exchange.ledger.headmark import mark_path_for
from exchange.ledger.schema import BatchRecord, batch_hash
from tests.ledger.history import history, write
from tests.ledger.rowtable import entry_table


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("signed") / "venue.db"
    write(path, history(400, seed=5), batch_size=20, snapshots_at=[4, 12])
    return path


@pytest.fixture
def ledger(pristine: Path, tmp_path: Path) -> Path:
    """A copy of the venue's files: the ledger, its key and its head mark."""
    copy = tmp_path / "venue.db"
    for suffix in ("", ".key", ".key.pub", ".head"):
        shutil.copy(f"{pristine}{suffix}", f"{copy}{suffix}")
    return copy


def open_and_recover(path: Path) -> Engine:
    async def run() -> Engine:
        ledger = await Ledger.open(path)
        try:
            return await ledger.recover()
        finally:
            await ledger.close()
    return asyncio.run(run())


def unguarded(path: Path) -> sqlite3.Connection:
    """A connection to `path` without the append-only triggers (what an intruder can do)."""
    conn = sqlite3.connect(path, isolation_level=None)
    for trigger in ("batches_no_update", "batches_no_delete"):
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    return conn


def forge_operator_key(path: Path, key: signing.VenueKey) -> int:
    """Append, with the project's own code, a batch that issues an operator key with a chosen
    secret, signed with `key`; the seq of its command."""
    engine = reader.recover(path)
    command, _ = new_key(engine.now_us + 1, "operator", None, "intruder")
    events = engine.apply(command)
    entry = Entry(engine.last_command_seq, command, events, "operator:bootstrap")
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        writes.append(conn, key, [entry], reader.head(conn), engine.digest())
    finally:
        conn.close()
    return entry.seq


def test_a_new_ledger_names_its_public_key_and_keeps_the_private_key_owner_only(
        ledger: Path) -> None:
    key_file = signing.key_path_for(ledger)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    public = Path(f"{key_file}.pub").read_text().strip()
    assert signing.load_or_create(key_file, False).public_hex == public
    meta = dict(sqlite3.connect(ledger).execute("SELECT key, value FROM meta"))
    assert meta["public_key"] == public and meta["schema_version"] == "4"
    summary = audit.verify(ledger, key=signing.public_key(public, "test"))
    assert summary.key_given and summary.public_key == public and summary.snapshots == 2


def test_a_batch_appended_with_another_key_is_named_by_verify_and_refused_by_the_server(
        ledger: Path) -> None:
    seq = forge_operator_key(ledger, signing.VenueKey.generate())
    for key in (None, reader.public_key(reader.connect(ledger))):
        with pytest.raises(LedgerError, match=f"seq {seq}: batch .* not signed") as raised:
            audit.verify(ledger, key=key)
        assert raised.value.seq == seq
    with pytest.raises(LedgerError, match=f"seq {seq}: batch .* not signed"):
        open_and_recover(ledger)


def test_an_unsigned_batch_is_refused(ledger: Path) -> None:
    conn = unguarded(ledger)
    first = conn.execute("SELECT first_seq FROM batches WHERE id = 7").fetchone()[0]
    conn.execute("UPDATE batches SET signature = '' WHERE id = 7")
    conn.close()
    with pytest.raises(LedgerError, match=f"seq {first}: batch 7 is not signed"):
        audit.verify(ledger)


def test_a_history_resigned_with_a_new_key_passes_only_without_the_venues_public_key(
        ledger: Path) -> None:
    """Rewrite meta and re-sign every batch and snapshot with an intruder's key: the file is
    self-consistent, so only the venue's own public key (got separately) tells."""
    venue_public = signing.public_key(Path(f"{ledger}.key.pub").read_text(), "venue")
    intruder = signing.VenueKey.generate()
    conn = unguarded(ledger)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'public_key'", (intruder.public_hex,))
    for (batch_id, own) in conn.execute("SELECT id, hash FROM batches").fetchall():
        conn.execute("UPDATE batches SET signature = ? WHERE id = ?",
                     (intruder.sign_batch(own), batch_id))
    for (seq, own) in conn.execute("SELECT seq, hash FROM snapshots").fetchall():
        conn.execute("UPDATE snapshots SET signature = ? WHERE seq = ?",
                     (intruder.sign_snapshot(own), seq))
    conn.close()
    assert audit.verify(ledger).public_key == intruder.public_hex  # its own key: consistent
    with pytest.raises(LedgerError, match="seq 1: batch 1 is not signed by the venue key"):
        audit.verify(ledger, key=venue_public)
    with pytest.raises(LedgerError, match="names public key .* not the signing key's"):
        open_and_recover(ledger)


def test_a_clean_tail_truncation_passes_verify_but_the_server_refuses_it(ledger: Path) -> None:
    conn = unguarded(ledger)
    last = reader.head(conn)
    assert last is not None
    conn.execute("DELETE FROM batches WHERE id = ?", (last.id,))  # its entries with it
    conn.execute("DELETE FROM snapshots WHERE seq >= ?", (last.first_seq,))
    conn.close()
    audit.rebuild(ledger)  # the projections of the shorter history
    audit.verify(ledger)  # a shorter ledger is still a consistent one...
    with pytest.raises(LedgerError, match=f"seq {last.first_seq}: the ledger ends at seq "
                                          f"{last.first_seq - 1}.*truncated") as raised:
        open_and_recover(ledger)  # ...but not the one its writer committed
    assert raised.value.seq == last.first_seq


def test_a_missing_head_mark_is_refused_until_an_operator_makes_one(ledger: Path) -> None:
    mark = mark_path_for(ledger)
    mark.unlink()
    with pytest.raises(LedgerError, match="no head mark"):
        open_and_recover(ledger)
    head = audit.checkpoint(ledger)
    assert head is not None
    mark.write_text(f"seq {head.last_seq} batch {head.id} hash {head.hash}\n(later: ...)\n")
    assert open_and_recover(ledger).seq == head.last_seq


def test_a_rewritten_batch_at_the_head_mark_is_refused(ledger: Path) -> None:
    conn = unguarded(ledger)
    last = reader.head(conn)
    assert last is not None
    conn.execute("UPDATE batches SET hash = ? WHERE id = ?", ("0" * 64, last.id))
    conn.close()
    with pytest.raises(LedgerError, match=f"seq {last.last_seq}: batch {last.id} is not the one"):
        open_and_recover(ledger)


def test_a_foreign_or_missing_signing_key_is_refused(ledger: Path, tmp_path: Path) -> None:
    key_file = signing.key_path_for(ledger)
    key_file.unlink()
    with pytest.raises(LedgerError, match="no signing key"):
        open_and_recover(ledger)
    other = tmp_path / "other.key"
    asyncio.run(_touch_ledger(tmp_path / "other.db", other))
    with pytest.raises(LedgerError, match="not the signing key's"):
        asyncio.run(Ledger.open(ledger, key_file=other))
    other.chmod(0o644)
    with pytest.raises(LedgerError, match="readable by others"):
        asyncio.run(Ledger.open(ledger, key_file=other))


async def _touch_ledger(path: Path, key_file: Path) -> None:
    ledger = await Ledger.open(path, key_file=key_file)
    await ledger.close()


# -- snapshots ---------------------------------------------------------------------------


def newest_snapshot(path: Path) -> int:
    return int(sqlite3.connect(path).execute("SELECT max(seq) FROM snapshots").fetchone()[0])


@pytest.mark.parametrize("column, value", [
    ("body", b"\x00"), ("edge", b"\x90"), ("digest", "0" * 64), ("hash", "1" * 64)])
def test_a_changed_snapshot_part_refuses_the_server_naming_its_seq(
        ledger: Path, column: str, value: object) -> None:
    seq = newest_snapshot(ledger)
    conn = unguarded(ledger)
    conn.execute(f"UPDATE snapshots SET {column} = ? WHERE seq = ?", (value, seq))
    conn.close()
    with pytest.raises(LedgerError, match=f"seq {seq}: the snapshot") as raised:
        open_and_recover(ledger)
    assert raised.value.seq == seq
    with pytest.raises(LedgerError, match=f"seq {seq}: the snapshot"):
        audit.verify(ledger)


def test_a_byte_changed_before_the_snapshot_leaves_the_server_on_the_signed_state(
        ledger: Path) -> None:
    """Recovery reads nothing before the newest snapshot, which is signed: the server's state
    cannot be steered from there, and `audit verify` names the changed seq."""
    expected = open_and_recover(ledger).digest()
    with entry_table(ledger) as conn:
        seq, body = conn.execute("SELECT seq, body FROM events WHERE seq > 20 ORDER BY seq "
                                 "LIMIT 1").fetchone()
        records = msgpack.unpackb(body)
        records[0][1][0] += 1  # the command's time
        conn.execute("UPDATE events SET body = ? WHERE seq = ?", (msgpack.packb(records), seq))
    assert seq < newest_snapshot(ledger)
    assert open_and_recover(ledger).digest() == expected
    with pytest.raises(LedgerError, match=f"seq {seq}"):
        audit.verify(ledger)


def test_a_batch_record_rebuilt_around_changed_rows_is_refused(ledger: Path) -> None:
    """Re-hashing a batch after changing its rows (what schema 2 could not tell) breaks its
    signature."""
    conn = unguarded(ledger)
    last = BatchRecord(*conn.execute(
        "SELECT id, first_seq, last_seq, prev_hash, events_hash, digest, hash, signature "
        "FROM batches ORDER BY id DESC LIMIT 1").fetchone())
    forged = batch_hash(last.id, last.first_seq, last.last_seq, last.prev_hash, "f" * 64,
                        last.digest)
    conn.execute("UPDATE batches SET events_hash = ?, hash = ? WHERE id = ?",
                 ("f" * 64, forged, last.id))
    conn.close()
    with pytest.raises(LedgerError, match=f"seq {last.first_seq}"):
        audit.verify(ledger, replay=False)


def test_a_second_run_appends_batches_that_verify_with_the_venue_key(ledger: Path) -> None:
    async def go_on() -> None:
        store = await Ledger.open(ledger)
        engine = await store.recover()
        more = [Entry(0, c, [], "system") for c in history(420, seed=5)[-20:]]
        entries = []
        for entry in more:
            events = engine.apply(entry.command)
            entries.append(entry._replace(seq=engine.last_command_seq, events=events))
        await store.append(Batch(entries, engine.digest()))
        await store.close()

    asyncio.run(go_on())
    public = signing.public_key(Path(f"{ledger}.key.pub").read_text(), "venue")
    assert audit.verify(ledger, key=public).batches == 22
