"""`exchange admin instruments phase|schedule` against a real venue: what it prints, --json,
and a bad time refused in one line with exit code 1."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from exchange.cli.main import main
from exchange.cli.results import OK, REFUSED, USAGE
from tests.admin.test_cli import admin
from tests.gateway.conftest import WHEAT, open_venue


async def test_phase_halts_and_reopens_an_instrument(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        code, out, _ = await admin(venue, "instruments", "phase", WHEAT, "halt")
        assert code == OK and out.startswith(f"{WHEAT}: halt (HALTED) (seq ")
        code, out, _ = await admin(venue, "instruments", "show", WHEAT, "--json")
        assert json.loads(out)["state"] == "HALTED"
        code, out, _ = await admin(venue, "instruments", "phase", WHEAT, "open", "--json")
        assert code == OK and json.loads(out)["state"] == "OPEN"


async def test_schedule_sets_shows_and_clears_a_trading_day(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        code, out, _ = await admin(venue, "instruments", "schedule", WHEAT,
                                   "--open", "08:00", "--close", "16:30:15")
        assert code == OK and out.splitlines() == [
            f"{WHEAT} (UTC)", "AT        STATE", "08:00:00  OPEN", "16:30:15  CLOSED"]
        code, out, _ = await admin(venue, "instruments", "schedule", WHEAT)
        assert out.splitlines()[0] == f"{WHEAT} (UTC), now OPEN" and len(out.splitlines()) == 4
        code, out, _ = await admin(venue, "instruments", "schedule", WHEAT, "--clear")
        assert code == OK and out.startswith(f"{WHEAT}: schedule cleared")
        code, out, _ = await admin(venue, "instruments", "schedule", WHEAT, "--json")
        assert json.loads(out)["schedule"] == []


async def test_a_bad_time_or_phase_is_refused_in_one_line(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        code, out, err = await admin(venue, "instruments", "schedule", WHEAT, "--open", "8h")
        assert (code, out) == (REFUSED, "")
        assert err == "exchange admin: BAD_REQUEST: open must be a UTC time HH:MM or HH:MM:SS\n"
        code, _, err = await admin(venue, "instruments", "phase", "NOPE", "halt")
        assert code == REFUSED and err.startswith("exchange admin: UNKNOWN_INSTRUMENT")
    usage = io.StringIO()
    with contextlib.redirect_stderr(usage), pytest.raises(SystemExit) as exit:
        main(["admin", "instruments", "phase", WHEAT, "later"])
    assert exit.value.code == USAGE and "invalid choice: 'later'" in usage.getvalue()
