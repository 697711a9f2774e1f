"""Every op of the op table, in both encodings: an unknown field is UNKNOWN_FIELD naming it, a
wrong-typed field is refused, and the answer is the same in JSON and MessagePack (one schema
for both encodings, docs/protocol.md). Parametrized over `OPS`, so a new op is covered."""

from __future__ import annotations

from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect

from exchange.gateway.ops import OPS
from exchange.gateway.protocol import Code
from tests.gateway.conftest import Venue, ask, open_venue

ROLES = (("trader", "AGRO-1"), ("operator", "operator"), ("auditor", "auditor"))


async def _clients(venue: Venue) -> dict[str, ClientConnection]:
    clients = {}
    for role, key in ROLES:
        ws = await connect(venue.url, compression=None)
        answer = await ask(ws, "logon", {"api_key": venue.keys[key]}, False)
        assert answer["ok"], answer
        clients[role] = ws
    return clients


def _caller(op: str) -> str:
    roles = OPS[op].roles
    return "trader" if roles is None else roles[0]


async def test_an_unknown_field_is_the_same_error_naming_it_in_both_encodings(
        tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        clients = await _clients(venue)
        for op in sorted(OPS):
            if op == "logon":
                continue  # logged on already; logon's own unknown field: test_strict_requests
            ws = clients[_caller(op)]
            answers = [await ask(ws, op, {"bogus_field": "1"}, binary) for binary in (False, True)]
            assert answers[0] == answers[1], op
            assert answers[0]["ok"] is False, op
            assert answers[0]["error"] == {"code": Code.UNKNOWN_FIELD,
                                           "msg": "unknown field args.'bogus_field'"}, op


async def test_a_wrong_typed_field_is_refused_alike_in_both_encodings(tmp_path: Path) -> None:
    """Each field of each op sent as a list (no field takes one): refused, the same answer
    from a text frame and a binary frame, and nothing reaches the engine."""
    async with open_venue(tmp_path / "l.db") as venue:
        clients = await _clients(venue)
        before = venue.server.venue.engine.digest()  # type: ignore[union-attr]
        for op in sorted(OPS):
            if op == "logon":
                continue
            ws = clients[_caller(op)]
            for field in sorted(OPS[op].fields):
                answers = [await ask(ws, op, {field: [1]}, binary) for binary in (False, True)]
                assert answers[0] == answers[1], (op, field)
                assert answers[0]["ok"] is False, (op, field, answers[0])
                assert answers[0]["error"]["code"] != Code.UNKNOWN_FIELD, (op, field)
        assert venue.server.venue.engine.digest() == before  # type: ignore[union-attr]
