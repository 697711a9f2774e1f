"""The benchmark's raw load generator speaks the protocol: every request answered, in order."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench import loadgen
from exchange import demo
from exchange.gateway.config import GatewayConfig
from exchange.gateway.jobs import now_us
from exchange.gateway.keys import new_key
from exchange.gateway.server import Server


async def run_trader(folder: Path, encoding: str, count: int) -> loadgen.Trader:
    config = GatewayConfig(port=0, order_rate=1e9, order_burst=1e9, conn_rate=1e9,
                           conn_burst=1e9, ping_interval_s=None)
    server = Server(folder / f"{encoding}.db", config)
    await server.open()
    await server.setup(demo.setup(now_us()), "operator:demo")
    command, api_key = new_key(now_us(), "trader", "AGRO-1", "loadgen-test")
    await server.setup([command], "operator:demo")
    await server.start()
    try:
        frames = loadgen.workload("t", count, encoding)
        trader = await loadgen.open_connection(server.url, lambda: loadgen.Trader(
            f"127.0.0.1:{server.port}", encoding, frames, 16))
        trader.transport.write(loadgen.request(encoding, "logon", "L", api_key=api_key))
        assert await asyncio.wait_for(trader.logged_on, 10)
        trader.send_upto(16)
        for _ in range(2000):
            if len(trader.latency_ns) == count:
                break
            await asyncio.sleep(0.01)
        trader.transport.close()
        return trader
    finally:
        await server.close()


def test_the_load_generator_gets_an_answer_to_every_request_in_both_encodings(
        tmp_path: Path) -> None:
    for encoding in ("json", "msgpack"):
        trader = asyncio.run(run_trader(tmp_path, encoding, 300))
        assert len(trader.latency_ns) == 300, encoding
        assert trader.failures == [] and trader.in_flight == 0
        assert all(latency > 0 for latency in trader.latency_ns)


def test_client_frames_are_masked_with_a_zero_key_and_carry_the_payload_as_is() -> None:
    short, medium = loadgen.client_frame(b"x" * 5, True), loadgen.client_frame(b"y" * 300, False)
    assert short[:2] == bytes((0x81, 0x80 | 5)) and short[2:6] == b"\0\0\0\0"
    assert short[6:] == b"x" * 5
    assert medium[:4] == bytes((0x82, 0xFE, 1, 44)) and medium[8:] == b"y" * 300
