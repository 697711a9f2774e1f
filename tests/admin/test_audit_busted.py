"""Auditors see busts: `audit export --what trades` has a `busted` column and `audit verify`
says how many of the trades were busted."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

from tests.gateway.conftest import WHEAT, open_venue


async def _three_trades_one_busted(ledger: Path) -> None:
    async with open_venue(ledger) as venue:
        buyer, seller = await venue.client("AGRO-1"), await venue.client("MILL-1")
        await buyer.new_order(WHEAT, "BUY", "9", "210.00")
        for _ in range(3):
            await seller.new_order(WHEAT, "SELL", "1", "210.00")
        operator = await venue.client("operator")
        await operator.request("bust_trade", trade_id="2", reason="wrong instrument")


def audit(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "exchange", "audit", *argv],
                          capture_output=True, text=True, timeout=120, check=False)


async def test_export_marks_busted_trades_and_verify_counts_them(tmp_path: Path) -> None:
    ledger = tmp_path / "v.db"
    await _three_trades_one_busted(ledger)
    export = audit("export", str(ledger), "--what", "trades", "--format", "csv")
    assert export.returncode == 0, export.stderr
    rows = list(csv.DictReader(io.StringIO(export.stdout)))
    assert [(row["trade_id"], row["busted"]) for row in rows] == [
        ("1", "False"), ("2", "True"), ("3", "False")]
    verify = audit("verify", str(ledger), "--quiet")
    assert verify.returncode == 0, verify.stderr
    assert "3 trades (1 busted)" in verify.stdout
