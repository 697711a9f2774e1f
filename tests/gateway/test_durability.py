"""Durable before visible: the server is killed with SIGKILL right after a client got its acks,
and after a restart on the same ledger every acknowledged order is there."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
from pathlib import Path

from exchange.client import Client
from tests.gateway.conftest import WHEAT, spawn_serve


def start_server(ledger: Path) -> tuple[subprocess.Popen, str, dict[str, str]]:
    """`exchange serve --demo` in a subprocess on a free port: (process, url, keys by account)."""
    process, url = spawn_serve(ledger, "--demo", "--order-rate", "100000")
    keys: dict[str, str] = {}
    while "STEEL-1" not in keys:
        line = process.stdout.readline()  # type: ignore[union-attr]
        match = re.match(r"\s+trader\s+(\S+)\s+(\S+)", line)
        if match:
            keys[match.group(1)] = match.group(2)
    return process, url, keys


async def place_and_kill(url: str, key: str, process: subprocess.Popen, count: int) -> list[str]:
    client = await Client.connect(url, encoding="msgpack")
    await client.logon(key)
    acked: list[str] = []
    futures = []
    for n in range(count):
        args = {"sym": WHEAT, "side": "BUY", "qty": "1", "px": f"{150 + n % 50}.00",
                "cl_ord_id": f"k{n}"}
        futures.append(await client.send_request("new_order", args))
    for n, future in enumerate(futures):
        answer = await future
        assert answer["ok"], answer
        acked.append(f"k{n}")
        if n == count // 2:
            os.kill(process.pid, signal.SIGKILL)  # right after this ack arrived
            break
    await asyncio.sleep(0)
    return acked


def test_every_acknowledged_order_survives_sigkill(tmp_path: Path) -> None:
    ledger = tmp_path / "exchange.db"
    process, url, keys = start_server(ledger)
    try:
        acked = asyncio.run(place_and_kill(url, keys["AGRO-1"], process, 400))
        process.wait(10)
        assert process.returncode == -signal.SIGKILL
    finally:
        process.kill()
    process, url, keys = start_server(ledger)
    try:
        async def check() -> None:
            client = await Client.connect(url)
            await client.logon(keys["AGRO-1"])
            live = {order["cl_ord_id"] for order in await client.open_orders()}
            assert set(acked) <= live
            for cl_ord_id in (acked[0], acked[-1]):
                answer = await client.new_order(WHEAT, "BUY", "1", "150.00", cl_ord_id=cl_ord_id)
                assert answer["duplicate"] is True  # a resend after the crash is not a new order
            await client.close()
        asyncio.run(check())
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)
