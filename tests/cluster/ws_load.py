"""Traders on the cluster's gateways through the CLIs' client (exchange.client), for the kill
tests: each sends orders one at a time and follows its account's execution reports; when its
gateway goes away it moves to another one, resends the order whose answer it lost (same
cl_ord_id) and resumes its reports from the last exec_seq it has."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake

from exchange.client import Client, ExchangeError

REQUEST_TIMEOUT_S = 10.0


class WsTrader:
    def __init__(self, account: str, api_key: str, urls: Callable[[], Awaitable[list[str]]],
                 symbols: list[str], rng: random.Random) -> None:
        self.account = account
        self.api_key = api_key
        self.urls = urls  # the gateways' current URLs (a restarted one has a new port)
        self.symbols = symbols
        self.rng = rng
        self.answered: dict[str, dict[str, Any]] = {}  # cl_ord_id -> the response (or error)
        self.reports: list[dict[str, Any]] = []
        self.faults: list[str] = []
        self.moves = 0
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        n, gateway = 0, self.rng.randrange(2)
        while not self.stopping.is_set():
            try:
                url = (await self.urls())[gateway]
                client = await asyncio.wait_for(Client.connect(url), REQUEST_TIMEOUT_S)
            except (OSError, TimeoutError, InvalidHandshake):
                await asyncio.sleep(0.1)
                gateway = 1 - gateway
                continue
            try:
                n = await self._trade(client, n)
            except (OSError, TimeoutError, ConnectionClosed):
                pass  # the gateway went away: move
            except ExchangeError as exc:
                if exc.code != "CLOSED":
                    self.faults.append(f"{self.account}: {exc!r}")
            finally:
                with _quiet():
                    await client.close()
            gateway = 1 - gateway
            self.moves += 1

    async def _trade(self, client: Client, n: int) -> int:
        await asyncio.wait_for(client.logon(self.api_key), REQUEST_TIMEOUT_S)
        resume = self.reports[-1]["exec_seq"] if self.reports else 0
        await asyncio.wait_for(client.subscribe_exec(resume_from_exec_seq=resume),
                               REQUEST_TIMEOUT_S)
        reading = asyncio.get_running_loop().create_task(self._read(client))
        try:
            while not self.stopping.is_set() and not client.closed.is_set():
                cl_ord_id = f"w{self.account}-{n}"
                symbol = self.symbols[n % len(self.symbols)]
                side = "BUY" if self.rng.random() < 0.5 else "SELL"
                try:
                    answer = await asyncio.wait_for(client.new_order(
                        symbol, side, str(self.rng.randint(1, 5)),
                        f"{self.rng.randint(95, 105) / 100:.2f}", cl_ord_id=cl_ord_id),
                        REQUEST_TIMEOUT_S)
                except ExchangeError as exc:
                    if exc.code == "CLOSED":
                        raise
                    answer = {"error": exc.code}
                self.answered[cl_ord_id] = answer
                n += 1
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)  # the last reports
            return n
        finally:
            reading.cancel()
            with _quiet():
                await reading

    async def _read(self, client: Client) -> None:
        while True:
            report = await client.exec_reports.get()
            last = self.reports[-1]["exec_seq"] if self.reports else 0
            if report["exec_seq"] != last + 1:
                self.faults.append(f"{self.account}: exec_seq {report['exec_seq']} after {last}")
            self.reports.append(report)


class _quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return True
