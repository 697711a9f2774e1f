"""docs/protocol.md stays true: its example session runs against a fresh venue, and its checksum
test vectors are recomputed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from exchange.gateway.book import checksum
from tests.gateway.conftest import open_venue

DOC = Path(__file__).parents[2] / "docs" / "protocol.md"


def matches(expected: Any, actual: Any) -> bool:
    if expected == "*":
        return True
    if isinstance(expected, dict):
        return isinstance(actual, dict) and expected.keys() == actual.keys() and all(
            matches(expected[k], actual[k]) for k in expected)
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and all(
            matches(e, a) for e, a in zip(expected, actual))
    return expected == actual and type(expected) is type(actual)


async def test_the_example_session_in_the_docs_runs_as_written(tmp_path: Path) -> None:
    block = re.search(r"```session\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert block is not None
    async with open_venue(tmp_path / "l.db") as venue:
        client = await venue.client()
        for line in block.group(1).splitlines():
            direction, text = line[:2], line[3:]
            if direction == ">>":
                for name, key in venue.keys.items():
                    text = text.replace(f"<{name}>", key)
                await client.ws.send(text)
            else:
                got = json.loads(await client.ws.recv())
                assert matches(json.loads(text), got), f"expected {text}\n     got {got}"


def test_the_checksum_vectors_in_the_docs_hold() -> None:
    rows = re.findall(r"^\|.*\| [^`|]*`([^`]*)` \| (\d+) \|$", DOC.read_text(), re.MULTILINE)
    assert len(rows) == 5
    for text, value in rows:
        text = text.replace("\\|", "|")
        if "..." in text:
            asks = [(f"{100 + i}.00", str(i + 1)) for i in range(12)]
            bids = [(f"{99 - i}.00", str(2 * i + 1)) for i in range(12)]
        else:
            asks_text, bids_text = text.split("|")
            asks = [tuple(level.split(":")) for level in asks_text.split(",") if level]
            bids = [tuple(level.split(":")) for level in bids_text.split(",") if level]
        assert checksum(asks, bids) == int(value), text  # type: ignore[arg-type]


def test_the_docs_list_every_code_a_client_can_get() -> None:
    """Every error code (the gateway's and the engine's), every cancel reason as the reports
    name it, and every cancel-reject reason appear in docs/protocol.md by name."""
    from exchange.engine.reasons import CancelReason, Reject
    from exchange.gateway.orders import cancel_reason_name
    from exchange.gateway.protocol import Code

    text = DOC.read_text()
    names = {value for key, value in vars(Code).items() if key.isupper()}
    names |= {reason.name for reason in Reject} | {"LEDGER_CORRUPT", "TOO_LATE_TO_CANCEL"}
    names |= {cancel_reason_name(reason) for reason in CancelReason}
    assert [name for name in sorted(names) if not re.search(rf"\b{name}\b", text)] == []
