"""Real servers for the cluster tests: a nats-server with JetStream and a PostgreSQL cluster,
each on a free 127.0.0.1 port with its data in a temporary directory, ended by PID.

The tests skip, naming the binaries, only where nats-server or PostgreSQL 15 is not installed
(`.ci/run` installs both)."""

from __future__ import annotations

import asyncio
import inspect
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from exchange.cluster import servers
from exchange.ledger.signing import VenueKey, load_or_create

MISSING = servers.missing()
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"not installed: {', '.join(MISSING)}")
_databases = itertools.count(1)
ASYNC_TEST_TIMEOUT_S = 150


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests in a fresh event loop, each with a time limit."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    asyncio.run(asyncio.wait_for(pyfuncitem.obj(**kwargs), ASYNC_TEST_TIMEOUT_S))
    return True


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[servers.NatsServer]:
    if MISSING:
        pytest.skip(f"not installed: {', '.join(MISSING)}")
    server = servers.NatsServer(tmp_path / "nats").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[servers.Postgres]:
    if MISSING:
        pytest.skip(f"not installed: {', '.join(MISSING)}")
    server = servers.Postgres().start()
    yield server
    server.stop()


@pytest.fixture
def pg_dsn(postgres: servers.Postgres) -> str:
    """A fresh, empty database of the session's PostgreSQL."""
    import asyncpg

    name = f"ledger_{next(_databases)}"

    async def create() -> None:
        conn = await asyncpg.connect(postgres.dsn)
        try:
            await conn.execute(f"CREATE DATABASE {name}")
        finally:
            await conn.close()

    asyncio.run(create())
    return postgres.dsn.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def signing_key(tmp_path: Path) -> tuple[Path, VenueKey]:
    path = tmp_path / "venue.key"
    return path, load_or_create(path, create=True)
