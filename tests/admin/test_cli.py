"""`exchange admin …` against a real venue: tables, --json, exit codes, one-line errors, and a
CSV import that names the bad line and imports nothing."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

from exchange.cli.admin import parse_since
from exchange.cli.csv_import import chunks
from exchange.cli.main import build_parser, main
from exchange.cli.results import AUTH, OK, REFUSED, UNREACHABLE, USAGE
from tests.gateway.conftest import WHEAT, Venue, open_venue

HEADER = "symbol,commodity,grade,location,delivery period,unit,lot,tick,decimals,min_qty," \
         "max_qty,reference_px,band\n"


def csv_line(symbol: str, tick: str = "0.25") -> str:
    return f"{symbol},urea,46% N,CFR Antwerp,2027-Q3,t,100,{tick},2,1,100,385.00,200\n"


async def admin(venue: Venue, *argv: str, key: str = "operator") -> tuple[int, str, str]:
    """Run the CLI in a worker thread (it has its own event loop): (exit code, out, err)."""
    out, err = io.StringIO(), io.StringIO()
    args = ["admin", "--url", venue.url, "--key", venue.keys.get(key, key), *argv]

    def run() -> int:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            return main(args)

    code = await asyncio.to_thread(run)
    return code, out.getvalue(), err.getvalue()


async def test_import_lists_a_good_file_and_list_shows_it_as_table_and_json(
        tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(HEADER + csv_line("UREA-1") + "\n" + csv_line("UREA-2"))
    async with open_venue(tmp_path / "l.db") as venue:
        code, out, err = await admin(venue, "instruments", "import", str(good))
        assert (code, err) == (OK, "") and "imported 2 instruments" in out
        code, out, _ = await admin(venue, "instruments", "list", "--period", "2027-Q3")
        header, *lines = out.splitlines()
        assert header.split()[:3] == ["SYMBOL", "COMMODITY", "GRADE"]
        assert [line.split()[0] for line in lines] == ["UREA-1", "UREA-2"]
        code, out, _ = await admin(venue, "instruments", "list", "--period", "2027-Q3", "--json")
        listed = json.loads(out)
        assert listed["total"] == 2 and listed["instruments"][1]["band_ticks"] == "200"


async def test_a_malformed_csv_names_its_bad_line_and_imports_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + csv_line("U-1") + csv_line("U-2") + csv_line("U-3", tick="0.255"))
    twice = tmp_path / "twice.csv"
    twice.write_text(HEADER + csv_line("U-1") + csv_line("U-1"))
    known = tmp_path / "known.csv"
    known.write_text(HEADER + csv_line("U-1") + csv_line(WHEAT))
    async with open_venue(tmp_path / "l.db") as venue:
        code, out, err = await admin(venue, "instruments", "import", str(bad))
        assert code == REFUSED and out == ""
        assert "line 4: tick:" in err and "nothing imported" in err and len(err.splitlines()) == 1
        code, _, err = await admin(venue, "instruments", "import", str(twice))
        assert code == REFUSED and "line 3: symbol: 'U-1' is also on line 2" in err
        code, _, err = await admin(venue, "instruments", "import", str(known))
        assert code == REFUSED and f"line 3: symbol: {WHEAT!r} is listed already" in err
        code, out, _ = await admin(venue, "instruments", "list", "--json")
        assert json.loads(out)["total"] == 3  # the demo's three, nothing more


def test_import_check_names_the_bad_line_offline(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(HEADER + csv_line("U-1") + csv_line("U-2"))
    bad.write_text(HEADER + csv_line("U-1") + csv_line("U-1"))

    def run(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):  # no server
            code = main(["admin", "--url", "ws://127.0.0.1:9", "--key", "k.s", *argv])
        return code, out.getvalue(), err.getvalue()

    code, out, _ = run("instruments", "import", "--check", str(good))
    assert (code, out) == (OK, f"{good}: 2 rows are good\n")
    code, out, err = run("instruments", "import", "--check", str(bad))
    assert (code, out) == (REFUSED, "") and "line 3: symbol: 'U-1' is also on line 2" in err


async def test_exit_codes_for_wrong_keys_unknown_symbols_and_usage(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        code, _, err = await admin(venue, "stats", key="nobody.secret")
        assert code == AUTH and err.startswith("exchange admin: logon refused")
        code, _, err = await admin(venue, "stats", key="AGRO-1")
        assert code == AUTH and "operator key" in err
        code, _, err = await admin(venue, "instruments", "halt", "NOPE")
        assert code == REFUSED and err == "exchange admin: UNKNOWN_INSTRUMENT: no instrument 'NOPE'\n"
        code, _, err = await admin(venue, "accounts", "set-limits", "AGRO-1")
        assert code == USAGE
        code, _, err = await admin(venue, "trades", "--since", "yesterday-ish")
        assert code == USAGE and "--since" in err


def test_an_unreachable_venue_is_exit_code_3_without_a_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "exchange.cli.main", "admin", "--url", "ws://127.0.0.1:9",
         "--key", "k.s", "stats"], check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == UNREACHABLE
    assert done.stderr.startswith("exchange admin: cannot reach the venue at ws://127.0.0.1:9")
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1


async def test_operator_workflow_through_the_cli(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        buyer = await venue.client("AGRO-1")
        await buyer.new_order(WHEAT, "BUY", "4", "209.50")
        code, out, _ = await admin(venue, "book", WHEAT, "--depth", "5")
        assert code == OK and out.splitlines()[2].split() == ["1", "4", "209.50"]
        code, out, _ = await admin(venue, "orders", "--firm", "AGROTRADE")
        assert out.splitlines()[1].split()[2:6] == ["AGRO-1", WHEAT, "BUY", "209.50"]
        code, out, _ = await admin(venue, "kill-switch", "account", "AGRO-1")
        assert (code, out) == (OK, "account AGRO-1: kill switch engaged, 1 orders canceled\n")
        code, out, _ = await admin(venue, "kill-switch", "account", "AGRO-1", "--release")
        assert code == OK and "released" in out
        code, out, _ = await admin(venue, "firms", "add", "CUPRUM", "--account", "CU-1",
                                   "--max-order-qty", "50", "--max-order-notional", "250000.5")
        assert code == OK
        code, out, _ = await admin(venue, "firms", "set-credit-limit", "CUPRUM", "2000000.00")
        code, out, _ = await admin(venue, "firms", "show", "CUPRUM", "--json")
        shown = json.loads(out)
        assert shown["credit_limit"] == "2000000.000000" and shown["net_bought"] == "0.000000"
        assert shown["accounts"][0]["max_order_qty"] == "50"
        assert shown["accounts"][0]["max_order_notional"] == "250000.500000"
        code, out, err = await admin(venue, "keys", "issue", "--role", "trader", "--account",
                                     "CU-1")
        assert code == OK and out.startswith(out.split(".")[0] + ".") and "only now" in err
        code, out, _ = await admin(venue, "stats", "--json")
        assert json.loads(out)["connections"] >= 1
        code, out, _ = await admin(venue, "instruments", "set-reference-price", WHEAT, "205.00")
        code, out, _ = await admin(venue, "instruments", "show", WHEAT)
        assert "reference_px     205.00" in out


def test_every_admin_command_has_help() -> None:
    parser = build_parser()
    leaves = []

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            leaves.append(path)
        for action in subs:
            for name, child in action.choices.items():
                walk(child, [*path, name])

    walk(parser._subparsers._group_actions[0].choices["admin"], ["admin"])  # type: ignore[union-attr]
    assert len(leaves) >= 25
    for path in leaves:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            main([*path, "--help"])
        assert out.getvalue().startswith("usage: exchange " + " ".join(path)), path


def test_chunks_stay_under_the_frame_limit_and_since_reads_ages_and_times() -> None:
    rows = [[f"S{n}", "x" * (n % 50)] for n in range(3000)]
    rows[2500][1] = "y" * 3000  # one big row: its block is halved around it
    groups = list(chunks(((n + 2, row) for n, row in enumerate(rows)), 4000))
    assert [r for _, group in groups for r in group] == rows
    assert [n for lines, _ in groups for n in lines] == list(range(2, 3002))
    import msgpack
    assert all(len(msgpack.packb(group)) <= 4000 for _, group in groups)
    assert len(groups) > 3000 * 30 // 4000 and list(chunks([])) == []
    assert parse_since("15m", 1000.0) == 100_000_000
    assert parse_since("1970-01-01T00:00:01", 0) == 1_000_000
    assert parse_since("123", 0) == 123


async def test_import_check_runs_the_venues_own_checks_and_agrees_with_the_venue(
        tmp_path: Path) -> None:
    """A file whose every column reads well but whose row the engine refuses (min_qty above
    max_qty) is refused offline at the line the venue would name, not approved."""
    bad = tmp_path / "spec.csv"
    bad.write_text(HEADER + csv_line("U-1") + csv_line("U-2").replace(",1,100,", ",50,10,"))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["admin", "--url", "ws://127.0.0.1:9", "--key", "k.s", "instruments",
                     "import", "--check", str(bad)])
    assert (code, out.getvalue()) == (REFUSED, "")
    assert err.getvalue() == (f"exchange admin: {bad} line 3: max_qty: 10 is below min_qty 50 "
                              "(INVALID_INSTRUMENT_SPEC); nothing imported\n")
    async with open_venue(tmp_path / "l.db") as venue:
        code, _, online = await admin(venue, "instruments", "import", str(bad))
        assert (code, online) == (REFUSED, err.getvalue())
