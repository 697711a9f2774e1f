"""`exchange trade` against a real venue: the order options (GTD, STP, iceberg), mass cancel,
fills, --json, the environment variables both CLIs share, and one-line errors (never a
traceback) for a web URL, an unknown symbol, a closed pipe and a closed connection."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from exchange.cli.connection import Unreachable, check_url, describe_close
from exchange.cli.main import main
from exchange.cli.results import AUTH, OK, REFUSED, UNREACHABLE, USAGE
from exchange.cli.trade import expire_at_us
from exchange.cli.watch import Screen
from exchange.engine import AddInstrument
from tests.gateway.conftest import WHEAT, Venue, eventually, open_venue

EXCHANGE = [sys.executable, "-m", "exchange"]


async def trade(venue: Venue, *argv: str, key: str = "AGRO-1") -> tuple[int, str, str]:
    """Run `exchange trade` in a worker thread (its own event loop): (exit code, out, err)."""
    out, err = io.StringIO(), io.StringIO()

    def run() -> int:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            return main(["trade", "--url", venue.url, "--key", venue.keys.get(key, key), *argv])

    code = await asyncio.to_thread(run)
    return code, out.getvalue(), err.getvalue()


def run_cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*EXCHANGE, *argv], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})}, check=False)


async def run_cli_async(*argv: str, env: dict[str, str] | None = None
                        ) -> subprocess.CompletedProcess:
    return await asyncio.to_thread(run_cli, *argv, env=env)


async def test_gtd_stp_and_iceberg_orders_go_out_with_their_options(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        code, out, err = await trade(venue, "--json", "buy", WHEAT, "6", "209.50",
                                     "--expire-at", "30m", "--display-qty", "2",
                                     "--stp", "decrement", "--cl-ord-id", "gtd-1")
        order = json.loads(out)
        assert (code, err) == (OK, "") and order["tif"] == "GTD"
        assert order["cl_ord_id"] == "gtd-1" and order["ord_status"] == "NEW"
        checker = await venue.client("operator")
        book = await checker.request("book", sym=WHEAT)
        assert book["bids"] == [{"px": "209.50", "qty": "2", "orders": 1}]  # iceberg shows 2
        code, _, err = await trade(venue, "buy", WHEAT, "1", "209.50", "--tif", "gtd")
        assert code == USAGE and "--expire-at" in err
        code, out, _ = await trade(venue, "status", "--cl-ord-id", "gtd-1")
        assert code == OK and out.startswith("#1 gtd-1 BUY") and "GTD: NEW" in out


async def test_a_self_trade_is_prevented_the_way_the_order_asks(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        await trade(venue, "sell", WHEAT, "3", "210.00")
        code, out, _ = await trade(venue, "--json", "buy", WHEAT, "2", "210.00",
                                   "--stp", "CANCEL_RESTING")
        assert code == OK and json.loads(out)["ord_status"] == "NEW"  # rests; the sell is gone
        code, out, _ = await trade(venue, "--json", "orders")
        assert [o["side"] for o in json.loads(out)] == ["BUY"]


async def test_cancel_all_fills_and_json(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        await trade(venue, "buy", WHEAT, "5", "209.50")
        await trade(venue, "buy", WHEAT, "1", "209.00")
        code, out, _ = await trade(venue, "sell", WHEAT, "2", key="MILL-1")  # market, IOC
        assert code == OK and "FILLED filled 2 (avg 209.500000)" in out
        code, out, _ = await trade(venue, "fills")
        header, line = out.splitlines()
        assert header.split()[:3] == ["TIME", "(UTC)", "TRADE"]
        assert line.split()[2:] == ["1", WHEAT, "BUY", "2", "209.50", "MAKER", "no"]
        code, out, _ = await trade(venue, "--json", "fills", key="MILL-1")
        fill = json.loads(out)[0]
        assert (fill["liquidity"], fill["qty"], fill["busted"]) == ("TAKER", "2", False)
        code, out, _ = await trade(venue, "account")
        assert code == OK and "firm_net_bought" in out and "can_trade" in out
        code, out, _ = await trade(venue, "--json", "ticker", WHEAT)
        assert json.loads(out)["volume"] == "2"
        code, out, _ = await trade(venue, "history", WHEAT)
        assert out.splitlines()[1].split()[2:] == ["1", "SELL", "2", "209.50", "no"]
        code, out, _ = await trade(venue, "cancel-all", "--sym", WHEAT)
        assert (code, out) == (OK, "canceled 2 orders\n")
        code, out, _ = await trade(venue, "orders")
        assert out == "(none)\n"


async def test_the_order_options_are_accepted_before_or_after_the_action(
        tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        out = io.StringIO()

        def run() -> int:
            with contextlib.redirect_stdout(out):
                return main(["trade", "instruments", "--search", "urea", "--json",
                             "--url", venue.url, "--key", venue.keys["AGRO-1"]])

        assert await asyncio.to_thread(run) == OK
        assert [spec["sym"] for spec in json.loads(out.getvalue())] == ["UREA-46-ANR-27Q2"]


async def test_both_clis_read_exchange_url_and_exchange_key(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        env = {"EXCHANGE_URL": venue.url, "EXCHANGE_KEY": venue.keys["AGRO-1"]}
        done = await run_cli_async("trade", "buy", WHEAT, "1", "209.00", env=env)
        assert done.returncode == OK and "NEW" in done.stdout, done.stderr
        env["EXCHANGE_KEY"] = venue.keys["operator"]
        done = await run_cli_async("admin", "instruments", "list", env=env)
        assert done.returncode == OK and WHEAT in done.stdout, done.stderr


async def test_no_tracebacks_web_url_unknown_symbol_bad_key_closed_pipe(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        http_url = venue.url.replace("ws://", "http://")
        key = venue.keys["AGRO-1"]
        cases = [
            (["trade", "--url", http_url, "--key", key, "orders"], UNREACHABLE,
             f"the venue's API is at {venue.url}"),
            (["admin", "--url", http_url, "--key", key, "stats"], UNREACHABLE, "web page"),
            (["trade", "--url", venue.url, "--key", key, "watch", "NOPE-1"], REFUSED,
             "no instrument 'NOPE-1'"),
            (["trade", "--url", venue.url, "--key", "no.key", "orders"], AUTH, "logon refused"),
            (["trade", "--url", "ws://127.0.0.1:9", "--key", key, "orders"], UNREACHABLE,
             "cannot reach the venue"),
        ]
        for argv, code, said in cases:
            done = await run_cli_async(*argv)
            assert done.returncode == code, (argv, done.stderr)
            assert said in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr
        # more rows than a pipe holds, so that `head -1` leaves while the CLI still writes
        await venue.server.setup([AddInstrument(
            3, f"OATS-{n:04}", "oats", "feed No.1", "FOB Rouen", "2027-05", "t", 25, 25, 2, 1,
            100, 20_000, 400) for n in range(1500)], "operator:test")
        assert len(venue.server.venue.engine.instruments) == 1503  # type: ignore[union-attr]
        piped = await asyncio.to_thread(subprocess.run, (
            f"{sys.executable} -m exchange admin --url {venue.url} --key "
            f"{venue.keys['operator']} instruments list --limit 1500 | head -1"), shell=True,
            capture_output=True, text=True, timeout=60)
        assert piped.stdout.startswith("SYMBOL") and piped.stderr == ""


def test_a_closed_pipe_mid_output_is_quiet() -> None:
    # `exchange trade --help | head -1` with a reader that leaves at once
    process = subprocess.Popen([*EXCHANGE, "trade", "--help"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    err = process.stderr.read().decode()
    assert process.wait(timeout=30) == 0 and err == ""


async def test_a_closed_connection_is_explained_in_words(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        operator = await venue.client("operator")
        issued = await operator.request("issue_key", role="trader", account="AGRO-1")
        watcher = await asyncio.create_subprocess_exec(
            *EXCHANGE, "trade", "--url", venue.url, "--key", issued["api_key"], "watch", WHEAT,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert watcher.stdout is not None
        screen = b""
        async with asyncio.timeout(20):
            while b"q quits" not in screen:
                screen += await watcher.stdout.read(4096)
        await operator.request("revoke_key", key_id=issued["key_id"])
        _, err = await asyncio.wait_for(watcher.communicate(), 20)
        assert watcher.returncode == UNREACHABLE
        assert err.decode() == ('exchange trade: the venue closed the connection: 1008 policy '
                                'violation ("API key revoked")\n')


def test_close_codes_and_urls_in_words() -> None:
    assert describe_close(1001, "") == ("the venue closed the connection: 1001 the venue is "
                                        "going away (shutting down)")
    assert "1009 message too big" in describe_close(1009, "frame too big")
    assert describe_close(None, None) == "the connection to the venue was lost"
    check_url("wss://venue.example:443")
    for bad, said in (("https://a:1", "wss://a:1"), ("127.0.0.1:8765", "not a websocket URL")):
        try:
            check_url(bad)
        except Unreachable as exc:
            assert said in str(exc)
        else:
            raise AssertionError(bad)


def test_gtd_expiry_reads_ages_iso_times_and_ts_us() -> None:
    now = 1_000.0
    assert expire_at_us("30m", now) == (1_000 + 1_800) * 1_000_000
    assert expire_at_us("1970-01-01T01:00:00", now) == 3_600 * 1_000_000
    assert expire_at_us("123456", now) == 123456
    assert time.time() > 0


async def test_watch_stays_alive_until_q_in_a_terminal(tmp_path: Path) -> None:
    """The watch screen in a real pseudo-terminal: spread, own orders, trades with times,
    and `q` quits with exit code 0 (the terminal's mode restored)."""
    import pty
    import termios

    async with open_venue(tmp_path / "l.db") as venue:
        buyer = await venue.client("AGRO-1")
        seller = await venue.client("MILL-1")
        await buyer.new_order(WHEAT, "BUY", "5", "209.50")
        await seller.new_order(WHEAT, "SELL", "4", "210.00")
        master, slave = pty.openpty()
        saved = termios.tcgetattr(slave)
        process = subprocess.Popen(  # noqa: ASYNC220 - the test's own clock, not the venue's
            [*EXCHANGE, "trade", "--url", venue.url, "--key", venue.keys["AGRO-1"], "watch",
             WHEAT], stdin=slave, stdout=slave, stderr=slave, close_fds=True)
        screen = bytearray()

        def read_until(text: bytes) -> None:
            deadline = time.monotonic() + 20
            while text not in screen:
                assert time.monotonic() < deadline, bytes(screen)
                screen.extend(os.read(master, 65536))

        try:
            await asyncio.to_thread(read_until, b"recent trades")
            assert b"spread 0.50 (2 ticks)" in screen
            assert b"BUY       5 @     209.50" in screen  # own order, from open_orders
            await seller.new_order(WHEAT, "SELL", "2", "209.50")
            await asyncio.to_thread(read_until, b"SELL      2 @ 209.50")  # a trade, with time
            assert b"ask 210.00 x 4" in screen
            await asyncio.to_thread(read_until, b"PARTIALLY_FILLED")
            os.write(master, b"q")
            await eventually(lambda: process.poll() is not None, timeout=20)
            assert process.returncode == OK
            assert termios.tcgetattr(slave)[3] == saved[3]  # local modes back as they were
        finally:
            if process.poll() is None:
                process.kill()
            os.close(master)
            os.close(slave)


def test_the_watch_screen_rewrites_only_the_lines_that_changed() -> None:
    out = io.StringIO()
    screen = Screen(out)
    assert screen.draw(["title", "bid 1", "ask 2"]) == 3
    out.truncate(0), out.seek(0)
    assert screen.draw(["title", "bid 1", "ask 2"]) == 0 and out.getvalue() == ""
    assert screen.draw(["title", "bid 3", "ask 2"]) == 1
    assert out.getvalue() == "\x1b[2;1Hbid 3\x1b[K"  # row 2 only
    out.truncate(0), out.seek(0)
    assert screen.draw(["title"]) == 1  # two rows gone: cleared below the first
    assert out.getvalue().endswith("\x1b[2;1H\x1b[J")
