"""What `make run` (`exchange serve --demo`) prints works when pasted: the trade, watch, admin
and audit lines; `python -m exchange` is the same command; a big venue's instruments are not
all printed; and a restart says that the previous demo keys were revoked."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from exchange.cli.serve import DEMO_INSTRUMENTS_SHOWN, command_name
from exchange.engine import AddInstrument
from tests.gateway.conftest import Venue, open_venue, spawn_serve


def serve_demo(ledger: Path, *options: str) -> tuple[subprocess.Popen, list[str]]:
    """A demo venue in a subprocess, and what it printed up to its last `try` line."""
    process, _ = spawn_serve(ledger, "--demo", *options)
    assert process.stdout is not None
    printed: list[str] = []
    while not printed or not printed[-1].startswith("or, for `trade`"):
        line = process.stdout.readline()
        assert line, printed
        printed.append(line.rstrip("\n"))
    return process, printed


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=20)


def test_the_lines_make_run_prints_work_when_pasted(tmp_path: Path) -> None:
    process, printed = serve_demo(tmp_path / "v.db")
    try:
        start = printed.index("try (paste):")
        pasted = printed[start + 1:start + 5]
        assert [shlex.split(line)[3] for line in pasted[:3]] == ["trade", "trade", "admin"]
        assert shlex.split(pasted[3])[3:5] == ["audit", "verify"]
        for line in (pasted[0], pasted[2], pasted[3]):  # watch runs until q: see test_trade_cli
            done = subprocess.run(shlex.split(line), capture_output=True, text=True, timeout=60,
                                  check=False)
            assert done.returncode == 0 and "Traceback" not in done.stderr, (line, done.stderr)
            assert done.stdout, line
        export = printed[-1].split("export ", 1)[1]
        env = dict(item.split("=", 1) for item in export.split())
        done = subprocess.run([sys.executable, "-m", "exchange", "trade", "orders"], text=True,
                              capture_output=True, timeout=60, check=False,
                              env={**os.environ, **env})
        assert done.returncode == 0 and "209.50" in done.stdout, done.stderr
    finally:
        stop(process)


def test_the_command_to_paste_is_the_one_that_runs(tmp_path: Path, monkeypatch) -> None:
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "exchange"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert command_name(str(script)) == "venv/bin/exchange"  # not on PATH: its path
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    assert command_name(str(script)) == "exchange"  # activated: the name
    assert command_name("/x/exchange/__main__.py") == f"{sys.executable} -m exchange"


def test_python_dash_m_exchange_is_the_exchange_command() -> None:
    done = subprocess.run([sys.executable, "-m", "exchange", "--help"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stdout.startswith("usage: exchange")


async def list_many(path: Path, count: int) -> None:
    async with open_venue(path) as venue:
        await _add(venue, count)


async def _add(venue: Venue, count: int) -> None:
    await venue.server.setup([AddInstrument(
        3, f"BARLEY-{n:04}", "barley", "malting", "FOB Rouen", "2027-07", "t", 25, 25, 2, 1,
        100, 20_000, 400) for n in range(count)], "operator:test")


def test_a_big_venue_prints_a_few_instruments_and_says_old_demo_keys_were_revoked(
        tmp_path: Path) -> None:
    import asyncio

    ledger = tmp_path / "v.db"
    asyncio.run(list_many(ledger, 40))
    process, printed = serve_demo(ledger)
    stop(process)
    assert "instruments (43):" in printed
    start = printed.index("instruments (43):") + 1
    listed = printed[start:start + DEMO_INSTRUMENTS_SHOWN + 1]
    assert all(" lot " in line for line in listed[:-1])
    assert listed[-1].startswith(f"  ... and {43 - DEMO_INSTRUMENTS_SHOWN} more")
    assert not any("revoked" in line for line in printed)  # the first demo start
    process, printed = serve_demo(ledger)
    stop(process)
    assert any("the 5 demo keys of the previous run are revoked" in line for line in printed)
