"""Long audit tools say how far they have got on stderr (verify, replay, export, rebuild), never
on stdout, so piped or redirected results hold only results; `--quiet` silences them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from exchange.cli import audit as audit_cli
from exchange.cli import progress
from exchange.cli.main import main
from tests.ledger.history import history, write


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("progress") / "venue.db"
    write(path, history(300, seed=7), batch_size=20)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[str, list[str]]:
    assert main(["audit", *argv]) == 0
    out, err = capsys.readouterr()
    return out, err.splitlines()


@pytest.mark.parametrize("tool", [
    ("export", "--what", "trades"), ("export", "--what", "events", "--format", "jsonl"),
    ("replay",), ("rebuild",), ("verify",)])
def test_each_long_tool_shows_progress_on_stderr_only(
        ledger: Path, tool: tuple[str, ...], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "EVERY_S", 0.0)  # a line at every step
    monkeypatch.setattr(audit_cli, "REBUILD_CHUNK", 50)
    name = tool[0]
    out, err = run(capsys, name, str(ledger), *tool[1:])
    steps = [line for line in err if line.startswith(f"{name} {ledger}: ")
             and line.endswith(" seqs/s")]
    assert len(steps) >= 10, err
    last = steps[-1].removeprefix(f"{name} {ledger}: ").split()[0]  # "1,234/1,234"
    done, total = (int(part.replace(",", "")) for part in last.split("/"))
    assert done == total > 300
    assert any(line.startswith(f"{name} {ledger}: done in ") for line in err)
    assert "seqs/s" not in out and "done in" not in out
    if tool[1:3] == ("--what", "trades"):
        assert len(list(csv.DictReader(io.StringIO(out)))) > 0
    if "jsonl" in tool:
        assert all(json.loads(line)["seq"] for line in out.splitlines())
    quiet_out, quiet_err = run(capsys, name, str(ledger), *tool[1:], "--quiet")
    assert not [line for line in quiet_err if "seqs/s" in line or "done in" in line]
    if name in ("export", "rebuild", "replay"):
        assert quiet_out == out


def test_short_runs_print_no_progress(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, err = run(capsys, "export", str(ledger))
    assert err == [line for line in err if not line.endswith("seqs/s")]
