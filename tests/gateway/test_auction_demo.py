"""`exchange serve --demo` runs a demo day (exchange/demo_day.py) in a subprocess on 127.0.0.1,
with short phases: the demo instrument goes through pre-open, the opening auction, continuous
trading and the closing auction, the two uncrosses trade the seeded orders, and
`exchange audit verify` passes on the day's ledger."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from exchange.client import Client
from exchange.demo_day import DAY_SYMBOL, DemoDay
from exchange.engine.commands import SetTradingSchedule, SetTradingState
from tests.gateway.conftest import spawn_serve

PHASE_S = 3  # long enough for a loaded machine to start the venue within the first phase


async def watch_the_day(url: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The phases seen on the auction channel up to CLOSED, and the day's trades (px, qty)."""
    async with await Client.connect(url) as client:
        await client.subscribe("auction", DAY_SYMBOL)
        phases: list[str] = []
        async with asyncio.timeout(8 * PHASE_S + 20):
            while not phases or phases[-1] != "CLOSED":
                message: dict[str, Any] = await client.pushes.get()
                if message.get("ch") == "auction" and message["type"] in ("snapshot", "phase"):
                    phases.append(message["phase"])
        history = await client.request("trades_history", sym=DAY_SYMBOL)
        return phases, [(t["px"], t["qty"]) for t in history["trades"]]


def test_the_demo_day_runs_its_phases_and_auditors_verify_its_ledger(tmp_path: Path) -> None:
    ledger = tmp_path / "demo.db"
    process, url = spawn_serve(ledger, "--demo", "--demo-phase-seconds", str(PHASE_S))
    try:
        phases, trades = asyncio.run(watch_the_day(url))
    finally:
        process.send_signal(signal.SIGTERM)
        printed, _ = process.communicate(timeout=30)
    assert f"demo day on {DAY_SYMBOL} (UTC):" in printed
    day = ["PRE_OPEN", "OPEN", "CLOSING_AUCTION", "CLOSED"]
    assert phases == day[day.index(phases[0]):], phases  # from wherever it was at subscribing
    lots = {px: sum(int(q) for p, q in trades if p == px) for px, _ in trades}
    assert lots == {"385.00": 14, "385.50": 7}, trades
    verified = subprocess.run([sys.executable, "-m", "exchange", "audit", "verify", str(ledger)],
                              capture_output=True, text=True, timeout=120, check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_the_demo_days_schedule_wraps_past_midnight() -> None:
    day = DemoDay(86_400_000_000 * 20_000 - 2_500_000, phase_s=1)  # 23:59:57.5 UTC
    state, schedule = day.start_commands()[:2]
    assert type(state) is SetTradingState and type(schedule) is SetTradingSchedule
    assert state.ts_us == day.start_us == 86_400_000_000 * 20_000 - 2_000_000
    assert schedule.transitions == [[1, 5], [2, 3], [86_398, 4], [86_399, 1]]
    assert [at for at, _ in day.timetable()] == ["23:59:58", "23:59:59", "00:00:01", "00:00:02"]
