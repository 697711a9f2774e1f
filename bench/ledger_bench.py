"""Ledger benchmarks: append throughput, verify throughput, restart time. `python -m
bench.ledger_bench [--quick] [--only append,verify,restart] [--profile] [--against TREE
--rounds N]`.

`--against TREE` runs the chosen phases side by side with another checkout (e.g. a clone of
main before a change): each round runs this tree's benchmark and TREE's, alternately, each in
its own process with `PYTHONPATH=TREE` and TREE's own `.venv` if it has one (its build of the
compiled engine), reads their tables, and prints the medians and the ratios (this tree / TREE).

Workloads (fixed seeds; bench/README.md has the figures):

append   `demo.order_flow(N, seed=7)` after `demo.setup()`: limit orders around the three demo
         instruments' reference prices (each command with its events: its acceptance, trades,
         book changes; about 2.3 events per command). Entries are made by the engine
         beforehand; the timing covers `Ledger.append` (encoding, hashing, signing, the fsync'd
         commit: what a batch's acknowledgement waits for) at 1, 64 and 1024 commands per
         batch, on a fresh file each, and apart from it the projections written after the
         batches (a background write after each append, none of its own fsync'd).
verify   the 1024-per-batch file from `append` (about 300k rows, 1M seqs): `audit.verify`,
         i.e. the chain, the row hashes, a fresh engine re-matching every command, byte
         comparison of every row's body with the replay, and the digest of every batch.
restart  N passive limit orders (no trades: bids 1..50000 ticks under 100000, asks over it,
         ten accounts) so N orders rest; then `Ledger.open` + `recover` with the snapshot taken at
         the end, and without any snapshot (a copy with them removed).

Every phase proves its result: the ledger's digest equals the engine's, verify's counts equal
what was written, and a recovered engine's digest equals the last batch's.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from exchange import demo
from exchange.engine import AddAccount, AddInstrument, Engine, Side, SubmitOrder
from exchange.ledger import Batch, Entry, Ledger, audit, reader

SIZES = ((1, 2_000), (64, 64_000), (1024, None))  # (commands per batch, commands written)


def make_entries(commands: list, engine: Engine) -> tuple[list[Entry], dict[int, str]]:
    """Entries for `commands` and the engine digest after each one that ends a batch of one
    of SIZES. (Only there: a digest rehashes every level the command touched, and the demo
    flow's levels hold thousands of orders.)"""
    last = len(commands) - 1
    ends = {i for size, limit in SIZES for i in range(size - 1, min(limit or last + 1, last + 1),
                                                        size)}
    ends |= {min(limit or last + 1, last + 1) - 1 for _, limit in SIZES}
    entries, digests = [], {}
    for index, command in enumerate(commands):
        events = engine.apply(command)
        entries.append(Entry(engine.last_command_seq, command, events, "system"))
        if index in ends:
            digests[index] = engine.digest()
    return entries, digests


async def append_all(path: Path, entries: list[Entry], digests: dict[int, str], size: int,
                     snapshot_every: int = 10**12) -> tuple[float, float, int]:
    """Append `entries` in batches of `size`; (seconds spent in append, seconds spent in the
    projections after them — background writes between appends and the rest at
    `close` — and the last seq)."""
    ledger = await Ledger.open(path, snapshot_every=snapshot_every)
    appending = projecting = 0.0
    for start in range(0, len(entries), size):
        chunk = entries[start:start + size]
        batch = Batch(chunk, digests[start + len(chunk) - 1])
        began = time.perf_counter()
        await ledger.append(batch)
        appending += time.perf_counter() - began
        # a background projection write, if one was due, runs now: timed on its own
        began = time.perf_counter()
        await ledger.settle()
        projecting += time.perf_counter() - began
    assert ledger.last_digest == digests[len(entries) - 1], "ledger digest != engine digest"
    seqs = ledger.last_seq
    began = time.perf_counter()
    await ledger.close()
    return appending, projecting + time.perf_counter() - began, seqs


def bench_append(workdir: Path, commands: int) -> Path:
    print(f"append: generating {commands} demo commands through the engine ...", flush=True)
    engine = Engine()
    entries, digests = make_entries(demo.setup() + demo.order_flow(commands, seed=7), engine)
    events_total = sum(len(entry.events) for entry in entries)
    print(f"  {len(entries)} commands (rows), {events_total} events, "
          f"{len(entries) + events_total} seqs")
    print(f"  {'batch':>6} {'batches':>8} {'commands/s':>10} {'events/s':>10} {'commits/s':>9}"
          f"   {'with the projections':>26}")
    for size, limit in SIZES:
        part = entries[:limit]
        appending, projecting, seqs = asyncio.run(
            append_all(workdir / f"append-{size}.db", part, digests, size))
        events = sum(len(entry.events) for entry in part)
        assert seqs == len(part) + events
        batches = -(-len(part) // size)
        both = appending + projecting
        print(f"  {size:>6} {batches:>8} {len(part) / appending:>10,.0f} "
              f"{events / appending:>10,.0f} {batches / appending:>9,.0f}   "
              f"{events / both:>15,.0f} events/s", flush=True)
    return workdir / "append-1024.db"


def bench_verify(path: Path, profile: bool) -> None:
    conn = reader.connect(path)
    rows = sum(1 for _ in reader.rows(conn))
    seqs = conn.execute("SELECT max(last_seq) FROM batches").fetchone()[0]
    conn.close()
    print(f"verify: {path.name}, {rows} rows (commands), {seqs} seqs", flush=True)
    began = time.perf_counter()
    chain = audit.verify(path, replay=False)
    chain_s = time.perf_counter() - began
    began = time.perf_counter()
    if profile:
        profiler = cProfile.Profile()
        summary = profiler.runcall(audit.verify, path)
    else:
        summary = audit.verify(path)
    full_s = time.perf_counter() - began
    assert summary.last_seq == chain.last_seq == seqs
    assert summary.commands == rows and summary.commands + summary.events == seqs
    print(f"  chain only: {chain_s:.2f} s, {rows / chain_s:,.0f} commands/s, "
          f"{(seqs - rows) / chain_s:,.0f} events/s")
    print(f"  full (replay, byte compare, digests): {full_s:.2f} s, {rows / full_s:,.0f} "
          f"commands/s, {summary.events / full_s:,.0f} events/s; {summary.trades} trades",
          flush=True)
    engine_s = engine_alone(path)
    print(f"  the engine alone (the same commands applied, a digest per batch): {engine_s:.2f} s, "
          f"{100 * engine_s / full_s:.0f}% of the full verify", flush=True)
    reading_s = ledger_alone(path)
    print(f"  the ledger's reading alone (batches streamed, unpacked, hashed, signatures "
          f"checked, commands decoded): {reading_s:.2f} s, {100 * reading_s / full_s:.0f}%; "
          f"the rest (re-encoding and comparing the replay, projections rebuilt and compared, "
          f"snapshots): {full_s - engine_s - reading_s:.2f} s, "
          f"{100 * (full_s - engine_s - reading_s) / full_s:.0f}%", flush=True)
    if profile:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)


def engine_alone(path: Path) -> float:
    """Seconds a fresh engine takes to apply the file's commands with a digest at each batch
    end: the part of `verify` that is re-matching, not reading, decoding or comparing."""
    conn = reader.connect(path)
    try:
        commands = [reader.entry_of(row).command for row in reader.rows(conn)]
        ends = {batch.last_seq for batch in reader.batches(conn)}
        digest = reader.head(conn)
    finally:
        conn.close()
    engine = Engine()
    began = time.perf_counter()
    for command in commands:
        engine.apply(command)
        if engine.seq in ends:
            engine.digest()
    elapsed = time.perf_counter() - began
    assert digest is not None and engine.digest() == digest.digest
    return elapsed


def ledger_alone(path: Path) -> float:
    """Seconds the ledger side of `verify` takes without the engine: stream the batches, unpack
    their entries, hash them, check every signature, decode every command. The same calls
    `walk` and `Replayer.row` make (O(bytes))."""
    from exchange.engine import codec
    from exchange.ledger import schema, signing
    began = time.perf_counter()
    conn = reader.connect(path)
    try:
        key = reader.public_key(conn)
        count = 0
        for batch, index, body in reader.batch_blobs(conn):
            assert signing.batch_fault(key, batch) is None
            for seq, _, _, _, entry in schema.unpack_batch(index, body, batch.first_seq):
                codec.decode(schema.command_record(entry))
                count += 1
            assert schema.blob_hash(index, body) == batch.events_hash
    finally:
        conn.close()
    assert count > 0
    return time.perf_counter() - began


def resting_orders(count: int) -> list:
    """Setup plus `count` passive orders that never trade, so all of them rest."""
    spec = AddInstrument(0, "REST-1", "wheat", "milling No.2", "FOB Constanta", "2027-03", "t",
                         20, 1, 2, 1, 1_000_000)
    commands: list = [spec] + [AddAccount(0, f"R{n}", f"FIRM-{n}") for n in range(10)]
    for n in range(count):
        side = Side.BUY if n % 2 else Side.SELL
        offset = 1 + (n * 7919) % 50_000  # ~10 orders a level at 1M: digests stay cheap
        price = 100_000 - offset if side is Side.BUY else 100_000 + offset
        commands.append(SubmitOrder(1_000_000 + n, f"R{n % 10}", f"r{n}", "REST-1", side,
                                    1 + n % 9, price))
    return commands


async def restart(path: Path) -> tuple[float, Engine]:
    began = time.perf_counter()
    ledger = await Ledger.open(path)
    engine = await ledger.recover()
    elapsed = time.perf_counter() - began
    assert engine.digest() == ledger.last_digest, "recovered digest != last batch digest"
    await ledger.close()
    return elapsed, engine


def bench_restart(workdir: Path, count: int) -> None:
    print(f"restart: {count} resting orders, generating ...", flush=True)
    engine = Engine()
    entries, digests = make_entries(resting_orders(count), engine)
    assert len(engine.orders) == count
    path = workdir / "restart.db"
    appending, projecting, rows = asyncio.run(append_all(path, entries, digests, 1024))
    spent = appending + projecting
    print(f"  written: {rows} seqs in {spent:.1f} s, file {path.stat().st_size / 1e6:.0f} MB")

    async def take_snapshot() -> float:
        ledger = await Ledger.open(path)
        began = time.perf_counter()
        await ledger.snapshot(engine)
        held = time.perf_counter() - began
        await ledger.close()
        return held

    held = asyncio.run(take_snapshot())
    print(f"  snapshot: caller held {held:.2f} s (serialization), then written in background")
    with_snapshot, recovered = asyncio.run(restart(path))
    assert len(recovered.orders) == count
    print(f"  restart with snapshot: {with_snapshot:.2f} s", flush=True)
    plain = workdir / "restart-plain.db"
    shutil.copy(path, plain)
    for sidecar in path.parent.glob(path.name + ".*"):  # its signing key, head mark
        shutil.copy(sidecar, plain.parent / (plain.name + sidecar.name[len(path.name):]))
    conn = sqlite3.connect(plain)
    conn.execute("DELETE FROM snapshots")
    conn.commit()
    conn.close()
    without, recovered = asyncio.run(restart(plain))
    assert len(recovered.orders) == count
    print(f"  restart without snapshot (replay {len(entries)} commands): {without:.2f} s",
          flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ledger_bench")
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    parser.add_argument("--only", default="append,verify,restart")
    parser.add_argument("--profile", action="store_true", help="profile the full verify")
    parser.add_argument("--dir", help="work folder (default: a temporary one)")
    parser.add_argument("--against", metavar="TREE", help="side by side with this checkout")
    parser.add_argument("--rounds", type=int, default=3, help="alternated rounds (--against)")
    args = parser.parse_args(argv)
    if args.against:
        return side_by_side(Path(args.against), args, argv or [])
    scale = 10 if args.quick else 1
    phases = set(args.only.split(","))
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        workdir = Path(tmp)
        if phases & {"append", "verify"}:
            path = bench_append(workdir, 300_000 // scale)
            if "verify" in phases:
                bench_verify(path, args.profile)
        if "restart" in phases:
            bench_restart(workdir, 1_000_000 // scale)
    return 0


FIGURES = {  # what the side-by-side reads from each run's output: name -> (pattern, group)
    "append 64/batch, events/s": (r"^\s+64\s+\d+\s+[\d,]+\s+([\d,]+)", 1),
    "append 1024/batch, events/s": (r"^\s+1024\s+\d+\s+[\d,]+\s+([\d,]+)", 1),
    "append 1024/batch + projections, events/s": (
        r"^\s+1024\s+\d+\s+[\d,]+\s+[\d,]+\s+[\d,]+\s+([\d,]+) events/s", 1),
    "verify full, events/s": (r"full \(replay.*?([\d,]+) events/s", 1),
    "verify chain only, s": (r"chain only: ([\d.]+) s", 1),
    "verify full, s": (r"full \(replay.*?: ([\d.]+) s", 1),
}


def side_by_side(other: Path, args: argparse.Namespace, argv: list[str]) -> int:
    """Alternate this tree's benchmark with `other`'s, `args.rounds` times; print medians and
    ratios. Each run is a fresh process (one at a time: wrap the whole in flock)."""
    import os
    import re
    import statistics
    import subprocess
    import sys
    here = Path(__file__).resolve().parent.parent
    passed = [a for a in (argv or sys.argv[1:]) if not a.startswith(("--against", "--rounds"))
              and a not in (str(other), str(args.rounds))]
    found: dict[str, dict[str, list[float]]] = {"this": {}, "other": {}}
    for round_no in range(args.rounds):
        for name, tree in (("this", here), ("other", other)) if round_no % 2 == 0 else (
                ("other", other), ("this", here)):
            env = {**os.environ, "PYTHONPATH": str(tree)}
            own = tree / ".venv" / "bin" / "python"  # its own build of the compiled engine
            python = str(own) if own.exists() else sys.executable
            done = subprocess.run([python, "-m", "bench.ledger_bench", *passed],
                                  cwd=tree, env=env, capture_output=True, text=True, check=True)
            print(f"--- round {round_no + 1}, {name} ({tree})\n{done.stdout}", flush=True)
            for figure, (pattern, group) in FIGURES.items():
                match = re.search(pattern, done.stdout, re.MULTILINE)
                if match:
                    value = float(match.group(group).replace(",", ""))
                    found[name].setdefault(figure, []).append(value)
    print(f"side by side, medians of {args.rounds} alternated rounds: this tree {here} vs "
          f"{other}")
    for figure in FIGURES:
        ours, theirs = found["this"].get(figure), found["other"].get(figure)
        if ours and theirs:
            a, b = statistics.median(ours), statistics.median(theirs)
            print(f"  {figure:45} {a:>12,.2f} vs {b:>12,.2f}   ratio {a / b:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
