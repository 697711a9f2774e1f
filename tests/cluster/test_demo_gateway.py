"""`make cluster-demo` (`exchange cluster-demo --keep`): a two-shard venue with a cluster gateway
that the ordinary CLIs trade on: `exchange trade buy/sell/orders/status/watch` with the keys it
prints, a fill between two traders' orders on different firms."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

EXCHANGE = [sys.executable, "-m", "exchange"]
WHEAT = "WHEAT-M2-CTA-2703"


def trade(url: str, key: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*EXCHANGE, "trade", "--url", url, "--key", key, "--json", *args],
                          check=False, capture_output=True, text=True, timeout=60)


@pytest.fixture
def ctrl_c_reaches_children() -> Iterator[None]:
    """SIGINT handled while the children start, so they start with its default. A test suite
    run in the background (a shell without job control, as CI may be) ignores SIGINT, and
    children inherit that, so Ctrl-C would never reach them; here they stand for a terminal's
    foreground, where it does."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.mark.usefixtures("ctrl_c_reaches_children")
def test_the_cli_trades_and_watches_through_the_cluster_demos_gateway(tmp_path: Path) -> None:
    demo = subprocess.Popen([*EXCHANGE, "cluster-demo", "--dir", str(tmp_path / "demo"),
                             "--orders", "0", "--keep", "--gateway-port", "0"],  # an empty book
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert demo.stdout is not None
        lines = []
        deadline = time.monotonic() + 120
        while not lines or lines[-1] != "running; Ctrl-C stops it":
            assert time.monotonic() < deadline and demo.poll() is None, lines
            lines.append(demo.stdout.readline().rstrip("\n"))
        url = next(m[1] for line in lines if (m := re.match(r"gateway (\S+) ", line)))
        keys = dict(re.findall(r"trader (\S+): exchange trade --url \S+ --key (\S+)",
                               "\n".join(lines)))
        assert {"AGRO-1", "MILL-1"} <= set(keys)
        bought = trade(url, keys["AGRO-1"], "buy", WHEAT, "2", "190.00", "--cl-ord-id", "cli-b")
        assert bought.returncode == 0, bought.stderr
        assert '"ord_status": "NEW"' in bought.stdout
        orders = trade(url, keys["AGRO-1"], "orders", "--sym", WHEAT)
        assert orders.returncode == 0 and "cli-b" in orders.stdout
        watcher = subprocess.Popen([*EXCHANGE, "trade", "--url", url, "--key", keys["AGRO-1"],
                                    "watch", WHEAT], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        sold = trade(url, keys["MILL-1"], "sell", WHEAT, "2", "190.00", "--cl-ord-id", "cli-s")
        assert sold.returncode == 0, sold.stderr
        assert '"ord_status": "FILLED"' in sold.stdout
        status = trade(url, keys["AGRO-1"], "status", "--cl-ord-id", "cli-b")
        assert status.returncode == 0 and '"ord_status": "FILLED"' in status.stdout
        screen = b""
        assert watcher.stdout is not None
        os.set_blocking(watcher.stdout.fileno(), False)
        deadline = time.monotonic() + 30
        while b"190.00" not in screen and time.monotonic() < deadline:
            screen += watcher.stdout.read() or b""
            time.sleep(0.1)
        watcher.send_signal(signal.SIGINT)
        rest, err = watcher.communicate(timeout=60)
        screen += rest or b""
        assert b"190.00" in screen and b"q quits" in screen, (screen[-2000:], err)
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(60)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait()
    assert demo.returncode == 0, demo.stderr.read() if demo.stderr else ""
