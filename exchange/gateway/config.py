"""The gateway's configuration: one frozen object with safe defaults, passed in explicitly."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GatewayConfig:
    host: str = "127.0.0.1"
    port: int = 8765  # 0: any free port (tests)
    certfile: str | None = None  # both set: serve wss
    keyfile: str | None = None
    max_frame_bytes: int = 64 * 1024  # larger frames close the connection (1009)
    batch_cap: int = 4096  # most commands in one group commit
    queue_limit: int = 20_000  # commands waiting for the engine; connections wait beyond it
    conn_rate: float = 500.0  # messages per second per connection
    conn_burst: float = 1000.0
    order_rate: float = 200.0  # order operations per second per account
    order_burst: float = 400.0
    abuse_limit: int = 200  # consecutive rate-limited requests before the connection is closed
    md_buffer_bytes: int = 1 << 20  # unsent bytes beyond which market data gets resync_required
    buffer_bytes: int = 8 << 20  # unsent bytes beyond which the connection is closed
    ping_interval_s: float | None = 20.0  # websocket pings; no pong within the timeout: closed
    ping_timeout_s: float | None = 20.0
    heartbeat_s: float = 1.0  # market-data heartbeat when a subscriber got nothing for this long
    max_cancel_all_after_ms: int = 3_600_000
    snapshot_every: int = 100_000  # ledger rows between engine snapshots (faster restarts)
    resume_window: int = 5_000  # an account's latest reports kept for resumes (older: ledger)
    gc_freeze_s: float | None = 1.0  # how often survivors leave the cyclic GC's walks (server.py)
    gc_full_s: float | None = 3600.0  # how often one full collection reclaims frozen cycles
    operator_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")  # operator logons from
    # market data, market history and the instrument list before logon (docs/protocol.md);
    # False: a connection must log on first (`exchange serve --no-public-market-data`)
    public_market_data: bool = True
    md_subscribe_rate: float = 50.0  # market-data subscribes per second per connection
    md_subscribe_burst: float = 500.0
    md_streams_max: int = 1000  # market-data streams (channel and instrument) per connection


DEFAULT_CONFIG = GatewayConfig()
