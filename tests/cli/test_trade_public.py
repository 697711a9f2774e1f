"""`exchange trade` reads the public market without a key (as the venue allows before logon):
`ticker`, `history`, `instruments` and `watch`; what needs an account still asks for a key, and
a venue without public market data is said in one line."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import pty
import subprocess
import time
from pathlib import Path

from exchange.cli.main import main
from exchange.cli.results import AUTH, OK
from tests.admin.test_trade_cli import EXCHANGE
from tests.gateway.conftest import WHEAT, Venue, eventually, open_venue, with_config


async def keyless(venue: Venue, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()

    def run() -> int:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            return main(["trade", "--url", venue.url, *argv])
    saved = os.environ.pop("EXCHANGE_KEY", None)
    try:
        code = await asyncio.to_thread(run)
    finally:
        if saved is not None:
            os.environ["EXCHANGE_KEY"] = saved
    return code, out.getvalue(), err.getvalue()


async def test_the_public_market_needs_no_key(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        buyer, seller = await venue.client("AGRO-1"), await venue.client("MILL-1")
        await buyer.new_order(WHEAT, "BUY", "2", "210.00")
        await seller.new_order(WHEAT, "SELL", "2", "210.00")
        code, out, err = await keyless(venue, "ticker", WHEAT)
        assert (code, err) == (OK, "") and "last       210.00" in out
        code, out, _ = await keyless(venue, "history", WHEAT)
        assert code == OK and "210.00" in out
        code, out, _ = await keyless(venue, "instruments", "--search", "urea")
        assert code == OK and "UREA-46-ANR-27Q2" in out
        assert await keyless(venue, "orders") == (
            AUTH, "", "exchange trade: an API key is needed: --key or $EXCHANGE_KEY\n")


async def test_a_venue_without_public_market_data_asks_for_a_key(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db", with_config(public_market_data=False)) as venue:
        said = ("exchange trade: public market data is off on this venue: log on first: "
                "an API key is needed: --key or $EXCHANGE_KEY\n")
        assert await keyless(venue, "ticker", WHEAT) == (AUTH, "", said)


async def test_watch_without_a_key_shows_the_market_until_q(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        seller = await venue.client("MILL-1")
        await seller.new_order(WHEAT, "SELL", "4", "210.00")
        master, slave = pty.openpty()
        env = {key: value for key, value in os.environ.items() if key != "EXCHANGE_KEY"}
        process = subprocess.Popen(  # noqa: ASYNC220 - the test's own clock, not the venue's
            [*EXCHANGE, "trade", "--url", venue.url, "watch", WHEAT], stdin=slave,
            stdout=slave, stderr=slave, close_fds=True, env=env)
        screen = bytearray()

        def read_until(text: bytes) -> None:
            deadline = time.monotonic() + 20
            while text not in screen:
                assert time.monotonic() < deadline, bytes(screen)
                screen.extend(os.read(master, 65536))
        try:
            await asyncio.to_thread(read_until, b"recent trades")
            assert b"ask 210.00 x 4" in screen
            os.write(master, b"q")
            await eventually(lambda: process.poll() is not None, timeout=20)
            assert process.returncode == OK, bytes(screen)
        finally:
            if process.poll() is None:
                process.kill()
            os.close(master)
            os.close(slave)
