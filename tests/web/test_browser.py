"""The market page in a real browser: headless Chromium (Debian's `chromium`, which .ci/run
installs) driven by Playwright (the `browser` extra, which `make test` installs; it never
downloads a browser of its own), against `exchange serve --demo` on 127.0.0.1.

Before logon the page shows the public market (book, trades from the history, candles, the
ticker). A trader pastes a key, finds instruments, watches the book change when another trader's order
arrives, places an order through the page, sees it on the ladder, in their orders and, once it
trades, on the tape and in their fills, then cancels it through the page. The test saves
screenshots (var/screenshots/ in the checkout, or $EXCHANGE_SCREENSHOT_DIR).

Without Playwright or Chromium the test is skipped with the reason, except where
$EXCHANGE_REQUIRE_BROWSER is set (.ci/run sets it once Chromium is installed): there a missing
browser fails the run instead of passing silently.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from exchange.client import Client
from tests.admin.test_run_lines import list_many, serve_demo, stop

WHEAT = "WHEAT-M2-CTA-2703"
CHECKOUT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("EXCHANGE_SCREENSHOT_DIR", CHECKOUT / "var" / "screenshots"))
ACTION_TIMEOUT_MS = 15_000


def _missing(reason: str) -> None:
    if os.environ.get("EXCHANGE_REQUIRE_BROWSER"):
        pytest.fail(f"{reason} (and $EXCHANGE_REQUIRE_BROWSER is set)")
    pytest.skip(reason)


def chromium() -> str:
    """The system Chromium's path ($EXCHANGE_CHROMIUM, else the first found on PATH)."""
    for candidate in (os.environ.get("EXCHANGE_CHROMIUM"), "chromium", "chromium-browser",
                      "google-chrome"):
        found = candidate and shutil.which(candidate)
        if found:
            return found
    _missing("no Chromium on this machine: `apt-get install chromium` (.ci/run does)")
    raise AssertionError("unreachable")


def sync_api() -> Any:
    try:
        from playwright import sync_api
    except ImportError:
        _missing("Playwright is not installed: `pip install -e '.[browser]'` (make test does)")
    return sync_api


def trade_cli(url: str, key: str, *argv: str) -> Any:
    done = subprocess.run([sys.executable, "-m", "exchange", "trade", "--url", url, "--key",
                           key, "--json", *argv], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def _seed(url: str, keys: dict[str, str]) -> None:
    """Depth away from the touch, so the ladder and the depth chart have something to show."""
    for account, side, levels in (("STEEL-1", "BUY", (("209.00", "4"), ("208.50", "10"),
                                                      ("208.00", "6"))),
                                  ("MILL-1", "SELL", (("210.50", "5"), ("211.00", "8"),
                                                      ("211.75", "12")))):
        async with await Client.connect(url) as client:
            await client.logon(keys[account])
            for px, qty in levels:
                await client.new_order(WHEAT, side, qty, px)
    async with await Client.connect(url) as client:  # a trade before the page opens
        await client.logon(keys["MILL-1"])
        await client.new_order(WHEAT, "SELL", "1", ord_type="MARKET", tif="IOC")


def demo_keys(printed: list[str]) -> tuple[str, dict[str, str]]:
    """The venue's URL and the demo keys by account (or role) from what `serve --demo` said."""
    url = re.search(r"listening on (\S+)", "\n".join(printed)).group(1)  # type: ignore[union-attr]
    keys = {}
    for line in printed:
        found = re.match(r"^\s+(trader|operator|auditor)\s+(\S*)\s+(\S+\.\S+)$", line)
        if found:
            keys[found.group(2) or found.group(1)] = found.group(3)
    return url, keys


def test_a_trader_watches_the_book_places_and_cancels_an_order_in_the_browser(
        tmp_path: Path) -> None:
    api, executable = sync_api(), chromium()
    venue, printed = serve_demo(tmp_path / "v.db")
    url, keys = demo_keys(printed)
    asyncio.run(_seed(url, keys))
    errors: list[str] = []
    try:
        with api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable,
                                                 args=["--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 980})
                page.set_default_timeout(ACTION_TIMEOUT_MS)
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                _session(page, api.expect, url, keys)
            finally:
                browser.close()
    finally:
        stop(venue)
    assert errors == []


def _session(page: Any, expect: Any, url: str, keys: dict[str, str]) -> None:
    page.goto(url.replace("ws://", "http://") + "/")
    expect(page.locator("#connection")).to_have_text("connected")
    # the page's own CRC32 gives the protocol's published test vectors
    assert page.evaluate("crc32('|')") == 2343686810
    assert page.evaluate("crc32('101.00:3|100.50:2,100.00:7')") == 3801949867

    # market data is public: the book, the earlier trade, candles and the ticker before logon
    expect(page.locator("#instrument-list li")).to_have_count(3)
    expect(page.locator("#sym")).to_have_text(WHEAT)
    expect(page.locator('#ladder tr.bid[data-px="209.00"]')).to_have_attribute("data-qty", "3")
    expect(page.locator("#tape tbody tr")).to_have_count(1)  # from trades_history
    expect(page.locator("#candle-source")).to_have_text("from the venue's trades (busts left out)")
    expect(page.locator("#day")).to_contain_text("vol 1")
    expect(page.locator("#order-submit")).to_be_disabled()

    page.fill("#api-key", keys["AGRO-1"])
    page.click("#logon")
    expect(page.locator("#who")).to_have_text("trader AGRO-1 (AGROTRADE)")
    expect(page.locator("#instrument-list li")).to_have_count(3)
    page.fill("#search", "urea antwerp")
    expect(page.locator("#instrument-list li")).to_have_count(1)
    expect(page.locator("#instrument-list li .sym")).to_have_text("UREA-46-ANR-27Q2")
    page.fill("#search", "")
    page.click(f'#instrument-list li[data-sym="{WHEAT}"]')
    expect(page.locator("#sym")).to_have_text(WHEAT)
    expect(page.locator("#book-status")).to_contain_text("checksum ok")

    # another trader's order reaches the book on the page
    trade_cli(url, keys["MILL-1"], "sell", WHEAT, "3", "210.00")
    expect(page.locator('#ladder tr.ask[data-px="210.00"]')).to_have_attribute("data-qty", "3")
    expect(page.locator("#ask")).to_have_text("210.00 × 3")

    # an order placed through the page
    page.check("#order-side-buy")
    page.fill("#order-qty", "2")
    page.fill("#order-px", "209.50")
    page.click("#order-submit")
    expect(page.locator("#order-message")).to_contain_text("BUY 2 @ 209.50: NEW")
    mine = page.locator("#orders tbody tr[data-order-id]")
    expect(mine).to_have_count(1)
    bid = page.locator('#ladder tr.bid[data-px="209.50"]')
    expect(bid).to_have_attribute("data-qty", "2")
    expect(bid.locator("td.mine")).to_have_text("2")
    expect(page.locator("#spread")).to_have_text("0.50 (2 ticks)")

    # it trades: the tape, the fills and the ladder follow
    trade_cli(url, keys["MILL-1"], "sell", WHEAT, "1")
    expect(page.locator("#tape tbody tr")).to_have_count(2)
    expect(page.locator("#tape tbody tr").first.locator("td").nth(3)).to_have_text("209.50")
    expect(page.locator("#fills tbody tr")).to_have_count(1)
    expect(page.locator("#fills tbody tr td").nth(5)).to_have_text("MAKER")
    expect(bid).to_have_attribute("data-qty", "1")
    expect(page.locator("#last")).to_have_text("209.50")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "market-page.png"), full_page=True)

    # canceled through the page: gone from the orders, the ladder and the venue
    mine.first.locator("button.cancel").click()
    expect(page.locator("#order-message")).to_contain_text("CANCELED")
    expect(mine).to_have_count(0)
    expect(bid).to_have_count(0)
    assert trade_cli(url, keys["AGRO-1"], "orders") == []
    page.screenshot(path=str(SCREENSHOTS / "market-page-after-cancel.png"), full_page=True)


def test_a_big_venue_is_searched_on_the_venue_from_the_page(tmp_path: Path) -> None:
    """More instruments than one page of `instruments`: the page lists the first ones and asks
    the venue as the trader types."""
    api, executable = sync_api(), chromium()
    ledger = tmp_path / "v.db"
    asyncio.run(list_many(ledger, 700))
    venue, printed = serve_demo(ledger)
    url, _ = demo_keys(printed)
    try:
        with api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable,
                                                 args=["--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 980})
                page.set_default_timeout(ACTION_TIMEOUT_MS)
                page.goto(url.replace("ws://", "http://") + "/")
                expect = api.expect
                expect(page.locator("#instrument-count")).to_contain_text("search to narrow")
                page.fill("#search", "barley 0650")
                expect(page.locator("#instrument-list li")).to_have_count(1)
                page.click('#instrument-list li[data-sym="BARLEY-0650"]')
                expect(page.locator("#sym")).to_have_text("BARLEY-0650")
                expect(page.locator("#book-status")).to_contain_text("checksum ok")
            finally:
                browser.close()
    finally:
        stop(venue)


def test_the_page_on_its_own_http_port_trades_over_the_api_port(tmp_path: Path) -> None:
    """`serve --http-port --no-public-market-data`: loaded from the page's port, the page opens
    its websocket on the API port (its policy allows that and nothing else), asks for a key
    before it shows the market, and after a logon shows the live, checked book."""
    api, executable = sync_api(), chromium()
    venue, printed = serve_demo(tmp_path / "v.db", "--http-port", "0", "--no-public-market-data")
    url, keys = demo_keys(printed)
    page_url = re.search(r"market page: (\S+)", "\n".join(printed)).group(1)  # type: ignore[union-attr]
    assert page_url != url.replace("ws://", "http://") + "/"
    errors: list[str] = []
    try:
        with api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable,
                                                 args=["--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 980})
                page.set_default_timeout(ACTION_TIMEOUT_MS)
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.goto(page_url)
                expect = api.expect
                expect(page.locator("#connection")).to_have_text("connected")
                expect(page.locator("#notice")).to_have_text(
                    "This venue shows its market after a logon: paste an API key above.")
                expect(page.locator("#instrument-list li")).to_have_count(0)
                page.fill("#api-key", keys["AGRO-1"])
                page.click("#logon")
                expect(page.locator("#who")).to_have_text("trader AGRO-1 (AGROTRADE)")
                expect(page.locator("#sym")).to_have_text(WHEAT)
                expect(page.locator("#book-status")).to_contain_text("checksum ok")
                trade_cli(url, keys["MILL-1"], "sell", WHEAT, "3", "210.00")
                expect(page.locator('#ladder tr.ask[data-px="210.00"]')).to_have_attribute(
                    "data-qty", "3")
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOTS / "market-page-http-port.png"))
            finally:
                browser.close()
    finally:
        stop(venue)
    assert errors == []
