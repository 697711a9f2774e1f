"""docs/protocol.md's stop-order example session runs as written against a fresh venue."""

from __future__ import annotations

from pathlib import Path

from tests.gateway.conftest import open_venue
from tests.gateway.test_history import run_session


async def test_the_stop_order_session_in_the_docs_runs_as_written(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        await run_session(venue, "stop-session")
