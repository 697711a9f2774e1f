"""Replay determinism: a seeded history written to a ledger replays to byte-identical events
and equal digests, and a ledger cut short by a crash mid-write recovers to its last whole
batch. 20k commands by default; the 100k-command run is marked slow (EXCHANGE_SLOW_TESTS=1)."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

import pytest

from exchange.engine import Engine, codec
from exchange.ledger import Batch, Ledger, audit, recover_file
from tests.ledger.history import entries, history, write


def replays_identically(tmp_path: Path, count: int) -> None:
    commands = history(count, seed=100)
    path = tmp_path / "history.db"
    original = write(path, commands, batch_size=256, snapshot_every=50_000)
    summary = audit.verify(path)  # every event compared byte for byte, every batch digest
    assert summary.commands == len(commands)
    fresh = Engine()
    replayed = [codec.encode(event) for command in commands for event in fresh.apply(command)]

    async def recorded() -> list[bytes]:
        ledger = await Ledger.open(path)
        found = [codec.encode(event) async for entry in ledger.entries() for event in entry.events]
        await ledger.close()
        return found

    assert asyncio.run(recorded()) == replayed
    assert fresh.digest() == original.digest() == recover_file(path).digest()
    fresh.check()


def test_a_20k_command_history_replays_byte_for_byte(tmp_path: Path) -> None:
    replays_identically(tmp_path, 20_000)


@pytest.mark.slow
def test_a_100k_command_history_replays_byte_for_byte(tmp_path: Path) -> None:
    replays_identically(tmp_path, 100_000)


def test_a_write_torn_by_a_crash_recovers_to_the_last_whole_batch(tmp_path: Path) -> None:
    """The WAL file of a crashed writer, cut inside its last commit: SQLite drops that whole
    transaction, so the ledger is the batches before it, and it verifies and goes on."""
    path, crashed = tmp_path / "live.db", tmp_path / "crashed.db"
    commands = history(300, seed=12)

    async def scenario() -> tuple[int, str]:
        ledger = await Ledger.open(path)
        engine = Engine()
        all_entries = entries(commands, engine)
        digests = []
        check = Engine()
        for start in range(0, len(all_entries), 60):
            chunk = all_entries[start:start + 60]
            for entry in chunk:
                check.apply(entry.command)
            digests.append((chunk[-1].seq + len(chunk[-1].events), check.digest()))
            # the head mark as the crash leaves it: the last commit never returned
            if start:
                shutil.copy(f"{path}.head", f"{crashed}.head")
            if start + 60 >= len(all_entries):  # the last commit in the WAL is this batch's:
                await ledger.settle()  # the projections before it are written, its own held
                hold = sqlite3.connect(path, isolation_level=None)
                hold.execute("CREATE TRIGGER hold BEFORE INSERT ON orders "
                             "BEGIN SELECT RAISE(ABORT, 'held'); END")
                hold.close()
            await ledger.append(Batch(chunk, check.digest()))
        for suffix in ("", "-wal", ".key"):  # the files as a crash would leave them
            shutil.copy(f"{path}{suffix}", f"{crashed}{suffix}")
        await ledger.close()
        return digests[-2]

    last_seq, digest = asyncio.run(scenario())
    wal = Path(f"{crashed}-wal")
    wal.write_bytes(wal.read_bytes()[:-1000])  # the last commit's final frames never landed
    recovered = recover_file(crashed)
    assert (recovered.seq, recovered.digest()) == (last_seq, digest)
    audit.verify(crashed)

    async def go_on() -> None:
        unheld = sqlite3.connect(crashed, isolation_level=None)
        unheld.execute("DROP TRIGGER hold")
        unheld.close()
        ledger = await Ledger.open(crashed)
        engine = await ledger.recover()
        more = entries(history(310, seed=12)[-10:], engine)
        await ledger.append(Batch(more, engine.digest()))
        await ledger.close()

    asyncio.run(go_on())
    assert audit.verify(crashed).last_seq > last_seq
