"""Bulk listing, end to end: `exchange admin instruments import FILE.csv` against a running
`exchange serve`, until the engine's ImportInstruments is durable in the ledger.

Workload (seeded): N instruments (default 150,000) over 12 commodities x 4 grades x 25 delivery
locations x 12 monthly delivery periods, tick and decimals per commodity, a reference price on
the tick and a band of 50-500 ticks; one CSV file with a header, as an operator would write it.

What is measured:
1. `end to end`: the CLI as a separate process (Python start-up and imports included), from
   launch to exit: log on, read the CSV and send it in frames as it is read, while the server
   checks, converts and stages each frame; then the engine lists all of them in one command,
   the batch is committed (fsync) and the answer comes back. The server is `exchange serve` in its own process.
2. The same import in this process, timed in stages (a second file, new symbols, same server).
3. Server-side parts measured alone in this process on the same rows: the engine's
   ImportInstruments, the digest after it, the ledger encoding of the command.
4. Memory: the server's RSS before and after the first import, per 1,000 instruments (each an
   empty book), and the engine alone with tracemalloc.

It proves it was right: the ledger's last command is an ImportInstruments whose rows equal the
file's rows converted exactly (`reference.engine_row`), recorded with the origin of the operator key that ran it,
and the venue then lists exactly N + N instruments.

    python -m bench.import_bench [--rows 150000] [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gc
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from exchange.cli import admin as cli
from exchange.cli import csv_import
from exchange.engine import Engine, ImportInstruments, codec
from exchange.gateway.reference import check_rows, engine_row, read_csv
from exchange.ledger import reader

COMMODITIES = (("wheat", "0.25", 2, 21000), ("corn", "0.25", 2, 19000),
               ("urea", "0.50", 2, 38500), ("steel pipe", "1.00", 2, 78000),
               ("rebar", "0.50", 2, 61000), ("copper cathode", "0.50", 2, 850000),
               ("aluminium", "0.50", 2, 230000), ("sunflower oil", "0.1", 1, 9800),
               ("diesel", "0.001", 3, 750000), ("coal", "0.05", 2, 11000),
               ("sugar", "0.10", 2, 5200), ("cement", "0.05", 2, 9500))
GRADES = ("A", "B", "premium", "standard")
PERIODS = tuple(f"2027-{month:02d}" for month in range(1, 13))


def write_csv(path: Path, count: int, seed: int, prefix: str) -> None:
    rng = random.Random(seed)
    locations = [f"EXW depot {n:02d}" for n in range(25)]
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["symbol", "commodity", "grade", "location", "delivery_period", "unit",
                      "lot_size", "tick", "price_decimals", "min_qty", "max_qty",
                      "reference_px", "band_ticks"])
        for n in range(count):
            commodity, tick, decimals, ref_units = COMMODITIES[n % len(COMMODITIES)]
            tick_units = int(tick.replace(".", ""))
            ticks = ref_units // tick_units + rng.randint(-200, 200)
            reference = str(ticks * tick_units).rjust(decimals + 1, "0")
            reference = f"{reference[:-decimals]}.{reference[-decimals:]}"
            out.writerow([f"{prefix}{n:07d}", commodity, rng.choice(GRADES),
                          rng.choice(locations), rng.choice(PERIODS), "t",
                          rng.choice(("20", "25", "100")), tick, decimals, 1,
                          rng.choice((100, 500, 1000)), reference, rng.randint(50, 500)])


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def start_server(folder: Path) -> tuple[subprocess.Popen, str, str]:
    ledger = folder / "bench.db"
    key_file = folder / "operator.key"
    ready = folder / "ready"
    server = subprocess.Popen(
        [sys.executable, "-m", "exchange.cli.main", "serve", "--port", "0", "--ledger",
         str(ledger), "--ready-file", str(ready), "--operator-key-file", str(key_file)],
        stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not ready.exists() or not ready.read_text():
        if time.monotonic() > deadline or server.poll() is not None:
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    return server, ready.read_text(), key_file.read_text().strip()


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (contention-proof, unlike wall time)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cli_import(url: str, key: str, path: Path) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "exchange.cli.main", "admin", "--url", url, "--key", key,
         "--json", "instruments", "import", str(path)], capture_output=True, text=True,
        check=False)
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"import failed ({done.returncode}): {done.stderr}")
    return elapsed, json.loads(done.stdout)


async def staged_import(url: str, key: str, path: Path) -> dict[str, float]:
    """The CLI's own steps, in this process, timed one by one."""
    started = time.perf_counter()
    csv_import.check_file(path)
    checked = time.perf_counter()
    client = await cli._connect(url)
    await cli._logon(client, key)
    connected = time.perf_counter()
    await csv_import.import_file(client, argparse.Namespace(file=path))
    done = time.perf_counter()
    total = (await client.request("list_instruments", limit=1))["total"]
    await client.close()
    return {"csv read + check alone (import --check)": checked - started,
            "connect + logon": connected - checked,
            "import: read, send, stage, engine, durable": done - connected,
            "listed after": total}


def server_parts(path: Path) -> dict[str, float]:
    """The server's work on the same rows, measured alone (gc as in the server: enabled)."""
    with path.open(newline="") as handle:
        wire = [row for _, row in check_rows(read_csv(handle))]
    clock = time.process_time  # CPU time: the machine may be shared
    started = clock()
    rows = [engine_row(row) for row in wire]
    converted = clock()
    engine = Engine()
    command = ImportInstruments(1, rows)
    events = engine.apply(command)
    applied = clock()
    engine.digest()
    digested = clock()
    body = codec.encode(command)
    encoded = clock()
    assert events[-1].count == len(rows), events
    return {"convert rows (server staging)": converted - started,
            "engine ImportInstruments": applied - converted, "engine digest": digested - applied,
            "ledger encoding of the command": encoded - digested,
            "command bytes (MB)": len(body) / 1e6}


def engine_memory(path: Path) -> float:
    """MB per 1,000 empty books, engine only (tracemalloc; the rows list itself excluded)."""
    with path.open(newline="") as handle:
        rows = [engine_row(row) for _, row in check_rows(read_csv(handle))]
    gc.collect()
    tracemalloc.start()
    engine = Engine()
    engine.apply(ImportInstruments(1, rows))
    engine.digest()
    del rows
    gc.collect()
    used = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return used / 1e6 / (len(engine.instruments) / 1000)


def verify(ledger: Path, path: Path, key: str) -> None:
    """The ledger's last command is the file, converted exactly, from the operator."""
    with path.open(newline="") as handle:
        expected = [engine_row(row) for _, row in check_rows(read_csv(handle))]
    conn = reader.connect(ledger)
    try:
        builder = reader.EntryBuilder()
        imports = [entry for entry in (*builder.feed(reader.rows(conn)), *builder.finish())
                   if type(entry.command) is ImportInstruments]
    finally:
        conn.close()
    first = imports[0]
    assert first.origin == f"operator:{key.split('.')[0]}", first.origin
    assert [list(row) for row in first.command.rows] == expected
    assert type(first.events[-1]).__name__ == "InstrumentsImported"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=150_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        first, second = folder / "first.csv", folder / "second.csv"
        write_csv(first, args.rows, args.seed, "A")
        write_csv(second, args.rows, args.seed + 1, "B")
        print(f"{args.rows:,} instruments per file, {first.stat().st_size / 1e6:.1f} MB of CSV; "
              f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")
        server, url, key = start_server(folder)
        try:
            before, server_cpu = rss_kb(server.pid), cpu_s(server.pid)
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            elapsed, result = cli_import(url, key, first)
            after, server_cpu = rss_kb(server.pid), cpu_s(server.pid) - server_cpu
            ended = resource.getrusage(resource.RUSAGE_CHILDREN)
            cli_cpu = ended.ru_utime + ended.ru_stime - children.ru_utime - children.ru_stime
            print(f"\nend to end (CLI process start to exit): {elapsed:.2f} s wall "
                  f"({args.rows / elapsed:,.0f} instruments/s); CPU: CLI {cli_cpu:.2f} s, "
                  f"server {server_cpu:.2f} s; result {result}")
            print(f"server RSS {before / 1024:.0f} MB -> {after / 1024:.0f} MB: "
                  f"{(after - before) / 1024 / (args.rows / 1000):.2f} MB per 1,000 instruments")
            stages = asyncio.run(staged_import(url, key, second))
            print("\nin-process import of a second file, by stage:")
            for name, value in stages.items():
                print(f"  {name:34} {value:8.2f}")
        finally:
            server.terminate()
            server.wait(30)
        verify(folder / "bench.db", first, key)
        assert stages["listed after"] == 2 * args.rows
        print("\nserver-side parts alone (this process, CPU seconds):")
        for name, value in server_parts(first).items():
            print(f"  {name:34} {value:8.2f}")
        print(f"\nengine alone: {engine_memory(first):.2f} MB per 1,000 empty books (tracemalloc)")
        print("verified: ledger rows == file rows converted exactly, under the operator's origin")
    return 0


if __name__ == "__main__":
    sys.exit(main())
