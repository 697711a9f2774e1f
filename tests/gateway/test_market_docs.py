"""docs/protocol.md's market session runs as written: the `instruments` op filtered and paged
and a book of a given depth before logon, then a reject that says its numbers and an order
canceled at once whose answer says why."""

from __future__ import annotations

from pathlib import Path

from tests.gateway.conftest import open_venue
from tests.gateway.test_history import run_session


async def test_the_market_session_in_the_docs_runs_as_written(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        await run_session(venue, "market-session")
