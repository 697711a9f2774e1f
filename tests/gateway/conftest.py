"""A real venue for gateway tests: a Server on 127.0.0.1 port 0, on a real ledger in tmp_path,
with the demo instruments and accounts, one API key per demo account, an operator key and an
auditor key (each named after what it is for, as engine commands like any operator's)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import msgpack
import pytest
from websockets.asyncio.client import ClientConnection

from exchange import demo
from exchange.client import Client
from exchange.gateway.config import GatewayConfig
from exchange.gateway.keys import new_key
from exchange.gateway.server import Server

WHEAT = "WHEAT-M2-CTA-2703"
PIPE = "PIPE-114X6-A-CTA-2703"
ASYNC_TEST_TIMEOUT_S = 30
TEST_CONFIG = GatewayConfig(port=0, ping_interval_s=None, heartbeat_s=0.2)


class Venue:
    """A running test venue: its server, its keys by name, and a client factory."""

    def __init__(self, server: Server, keys: dict[str, str]) -> None:
        self.server = server
        self.keys = keys
        self.clients: list[Client] = []

    @property
    def url(self) -> str:
        return self.server.url

    async def client(self, key: str | None = None, encoding: str = "json",
                     cancel_on_disconnect: bool = False) -> Client:
        client = await Client.connect(self.url, encoding=encoding)
        self.clients.append(client)
        if key is not None:
            await client.logon(self.keys[key], cancel_on_disconnect=cancel_on_disconnect)
        return client


_ISSUED: dict[str, dict[str, str]] = {}  # ledger path -> the test keys issued on it, by name


async def start_venue(path: Path, config: GatewayConfig = TEST_CONFIG,
                      setup: bool = True) -> Venue:
    server = Server(path, config)
    venue = await server.open()
    if setup and not venue.engine.instruments:
        await server.setup(demo.setup(1), "operator:test")
    keys = _ISSUED.setdefault(str(path), {})  # a reopened ledger has the keys made before
    if setup and not keys:
        wanted = [(spec.account, "trader", spec.account) for spec in demo.ACCOUNTS]
        wanted += [("operator", "operator", None), ("auditor", "auditor", None)]
        commands = []
        for name, role, account in wanted:
            command, keys[name] = new_key(2, role, account, name)
            commands.append(command)
        await server.setup(commands, "operator:test")
    await server.start()
    return Venue(server, dict(keys))


async def stop_venue(venue: Venue) -> None:
    for client in venue.clients:
        try:
            await asyncio.wait_for(client.close(), 2)
        except Exception:  # noqa: BLE001, S110 - a client already gone is fine here
            pass
    await venue.server.close()


@contextlib.asynccontextmanager
async def open_venue(path: Path, config: GatewayConfig = TEST_CONFIG) -> AsyncIterator[Venue]:
    running = await start_venue(path, config)
    try:
        yield running
    finally:
        await stop_venue(running)


@pytest.hookimpl(tryfirst=True)
async def ask(ws: ClientConnection, op: str, args: Any = None, binary: bool = False,
              **envelope: Any) -> dict[str, Any]:
    """One raw request (MessagePack in a binary frame if `binary`, else JSON), its answer
    (pushes skipped)."""
    request = {"op": op, "id": "q", **({} if args is None else {"args": args}), **envelope}
    await ws.send(msgpack.packb(request) if binary else json.dumps(request))
    while True:
        raw = await asyncio.wait_for(ws.recv(), 5)
        message = msgpack.unpackb(raw) if isinstance(raw, bytes) else json.loads(raw)
        if "ch" not in message:
            return message  # type: ignore[no-any-return]


def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests in a fresh event loop, each with a time limit."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    asyncio.run(asyncio.wait_for(pyfuncitem.obj(**kwargs), ASYNC_TEST_TIMEOUT_S))
    return True


def with_config(**changes: object) -> GatewayConfig:
    return dataclasses.replace(TEST_CONFIG, **changes)


async def eventually(check: Callable[[], bool | Awaitable[bool]], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while True:
            result = check()
            if not isinstance(result, bool):
                result = await result
            if result:
                return
            await asyncio.sleep(0.01)


async def next_report(client: Client, timeout: float = 5.0) -> dict:
    return await asyncio.wait_for(client.exec_reports.get(), timeout)


def spawn_serve(ledger: Path, *options: str) -> tuple[subprocess.Popen, str]:
    """`exchange serve` in a subprocess on a free port, once it listens: (process, url). Its
    output (stdout and stderr) is a text pipe for the caller to read."""
    ready = ledger.with_name(ledger.name + ".ready")
    ready.unlink(missing_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "exchange.cli.main", "serve", "--port", "0", "--ledger",
         str(ledger), "--ready-file", str(ready), *options],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 20
    while not ready.exists() or not ready.read_text():
        assert process.poll() is None, process.stdout.read()  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    return process, ready.read_text()
