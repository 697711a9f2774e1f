"""A venue's first operator key (`serve --operator-key-file`) and the demo's keys, issued
through the engine at start-up, so the ledger records them like any operator action."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
from pathlib import Path

from exchange.client import Client
from exchange.ledger import reader
from tests.gateway.conftest import spawn_serve


def serve(ledger: Path, *options: str) -> tuple[subprocess.Popen, str, str]:
    """`exchange serve` in a subprocess on a free port until it is listening: (process, url,
    what it printed before listening)."""
    process, url = spawn_serve(ledger, *options)
    process.send_signal(signal.SIGTERM)  # stop: output up to here is what it printed at start
    printed = process.communicate(timeout=20)[0]
    return process, url, printed


def key_commands(ledger: Path) -> list[tuple[str, str, str | None]]:
    conn = reader.connect(ledger)
    try:
        builder = reader.EntryBuilder()
        found = [*builder.feed(reader.rows(conn)), *builder.finish()]
    finally:
        conn.close()
    return [(type(e.command).__name__, e.command.key_id, e.origin) for e in found
            if type(e.command).__name__ in ("IssueKey", "RevokeKey")]


async def logon_role(url: str, api_key: str) -> str:
    client = await Client.connect(url)
    try:
        return (await client.logon(api_key))["role"]
    finally:
        await client.close()


def test_an_operator_key_file_is_filled_once_and_its_key_recorded(tmp_path: Path) -> None:
    ledger, key_file = tmp_path / "v.db", tmp_path / "secrets" / "operator.key"
    _, _, printed = serve(ledger, "--operator-key-file", str(key_file))
    api_key = key_file.read_text().strip()
    key_id = api_key.split(".")[0]
    assert f"operator key {key_id} written to {key_file}" in printed
    assert key_file.stat().st_mode & 0o777 == 0o600 and api_key not in printed
    assert key_commands(ledger) == [("IssueKey", key_id, "operator:bootstrap")]
    process, url = spawn_serve(ledger, "--operator-key-file", str(key_file))
    try:
        assert asyncio.run(logon_role(url, api_key)) == "operator"  # the same key, kept
    finally:
        process.terminate()
        process.communicate(timeout=20)
    assert key_file.read_text().strip() == api_key
    assert key_commands(ledger) == [("IssueKey", key_id, "operator:bootstrap")]


def test_each_demo_start_revokes_the_previous_demo_keys_and_issues_new_ones(
        tmp_path: Path) -> None:
    ledger = tmp_path / "v.db"
    first = re.findall(r"^\s+(?:trader|operator|auditor)\s.*?(\S+)$",
                       serve(ledger, "--demo")[2], re.MULTILINE)
    second = re.findall(r"^\s+(?:trader|operator|auditor)\s.*?(\S+)$",
                        serve(ledger, "--demo")[2], re.MULTILINE)
    assert len(first) == len(second) == 5 and not set(first) & set(second)
    recorded = key_commands(ledger)
    assert all(origin == "operator:demo" for _, _, origin in recorded)
    first_ids = {key.split(".")[0] for key in first}
    assert {key_id for kind, key_id, _ in recorded if kind == "RevokeKey"} == first_ids
