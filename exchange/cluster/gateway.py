"""A stateless websocket gateway of the cluster: `python -m exchange.cluster.gateway --nats URL`.

The single-process gateway's server (`exchange.gateway.server.Server`: the websocket edge, the
ops, the sessions, the market page) with a `ClusterVenue` instead of an engine and a ledger: it
reads the route map, makes sure `OUT_ALL` sources every shard's OUT, folds `OUT_ALL` to its end
and only then listens. Any number of gateways may run; a client may use any of them and move
between them (docs/cluster.md). SIGTERM or SIGINT stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path

from nats.aio.client import Client

from exchange.cluster import merged
from exchange.cluster.gateway_venue import ClusterVenue
from exchange.cluster.order_entry import OrderEntry
from exchange.cluster.shard import connect
from exchange.gateway.config import DEFAULT_CONFIG, GatewayConfig
from exchange.gateway.server import Server
from exchange.gateway.venue import Venue


class ClusterGateway(Server):
    def __init__(self, nats_url: str, config: GatewayConfig = DEFAULT_CONFIG) -> None:
        super().__init__(Path(os.devnull), config)
        self.nats_url = nats_url
        self.nc: Client | None = None

    async def open(self) -> Venue:
        """Connect, read the routes, fold OUT_ALL to its end; nothing listens yet."""
        reconnected = asyncio.Event()
        self.nc = await connect(self.nats_url, reconnected)
        entry = await OrderEntry.open(self.nc, retry_for=30.0)
        if not entry.shards:
            raise RuntimeError("no instrument is routed to a shard yet (the ROUTES bucket)")
        await merged.ensure(self.nc.jetstream())
        venue = ClusterVenue(self.nc, entry, entry.shards, self.config)
        venue.follower.reconnected = reconnected
        await venue.catch_up()
        self.venue = venue
        return venue

    async def close(self) -> None:
        await super().close()
        if self.nc is not None:
            await self.nc.close()


async def serve(args: argparse.Namespace) -> int:
    rate = args.order_rate
    config = GatewayConfig(host=args.host, port=args.port, order_rate=rate,
                           order_burst=2 * rate, conn_rate=max(500.0, 2 * rate),
                           conn_burst=max(1000.0, 4 * rate))
    gateway = ClusterGateway(args.nats, config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await gateway.start()
        if args.ready_file:
            Path(args.ready_file).write_text(f"{gateway.url}\n")
        print(f"cluster gateway on {gateway.url}", file=sys.stderr, flush=True)
        serving = loop.create_task(gateway.serve_forever())
        stopping = loop.create_task(stop.wait())
        await asyncio.wait((serving, stopping), return_when=asyncio.FIRST_COMPLETED)
        for task in (serving, stopping):
            task.cancel()
        return 0 if stop.is_set() else 1
    finally:
        await gateway.close()


def main(argv: list[str] | None = None) -> int:
    from exchange.cli.cluster import GATEWAY, gateway_arguments

    parser = argparse.ArgumentParser(prog="exchange cluster-gateway", description=GATEWAY)
    gateway_arguments(parser)
    return asyncio.run(serve(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
