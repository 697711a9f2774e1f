"""Answers keep their promises (issue 9): engine requests are answered in the order they were
sent, each query seeing exactly the requests before it; a connection closed for rate-limit
abuse first gets the answer of every request that reached the engine. Over real sockets."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.gateway.conftest import WHEAT, open_venue, with_config

TRIALS = 300


async def test_pipelined_queries_are_answered_in_order_at_their_place(tmp_path: Path) -> None:
    """new_order X, order_status X, cancel_order X, order_status X, sent back to back: the
    answers come in that order, the first status NEW and the second CANCELED, every time."""
    config = with_config(conn_rate=1e6, conn_burst=1e6, order_rate=1e6, order_burst=1e6)
    async with open_venue(tmp_path / "l.db", config) as venue:
        ws = await connect(venue.url, compression=None)
        await ws.send(json.dumps({"op": "logon", "id": "L",
                                  "args": {"api_key": venue.keys["AGRO-1"]}}))
        assert json.loads(await ws.recv())["ok"]
        wrong = []
        for trial in range(TRIALS):
            x = f"x{trial}"
            frames = [
                {"op": "new_order", "id": f"{x}-1", "args": {
                    "cl_ord_id": x, "sym": WHEAT, "side": "BUY", "qty": "1", "px": "200.00"}},
                {"op": "order_status", "id": f"{x}-2",
                 "args": {"cl_ord_id": x, "account": "AGRO-1"}},
                {"op": "cancel_order", "id": f"{x}-3", "args": {"orig_cl_ord_id": x}},
                {"op": "order_status", "id": f"{x}-4",
                 "args": {"cl_ord_id": x, "account": "AGRO-1"}},
            ]
            for frame in frames:
                await ws.send(json.dumps(frame))
            answers = [json.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in frames]
            ids = [answer["id"] for answer in answers]
            statuses = [answer["result"]["ord_status"] if answer["ok"] else answer["error"]
                        for answer in answers]
            if ids != [f["id"] for f in frames] or statuses != ["NEW", "NEW", "CANCELED",
                                                                 "CANCELED"]:
                wrong.append((trial, ids, statuses))
        assert not wrong, f"{len(wrong)} of {TRIALS} out of order, e.g. {wrong[:3]}"


async def test_closing_for_abuse_first_answers_what_reached_the_engine(tmp_path: Path) -> None:
    config = with_config(conn_rate=1, conn_burst=300, abuse_limit=50,
                         order_rate=1e6, order_burst=1e6)
    async with open_venue(tmp_path / "l.db", config) as venue:
        ws = await connect(venue.url, compression=None, max_queue=None)
        await ws.send(json.dumps({"op": "logon", "id": "L",
                                  "args": {"api_key": venue.keys["AGRO-1"]}}))
        assert json.loads(await ws.recv())["ok"]
        burst = [json.dumps({"op": "new_order", "id": f"o{n}", "args": {
            "cl_ord_id": f"b{n}", "sym": WHEAT, "side": "BUY", "qty": "1", "px": "200.00"}})
            for n in range(600)]
        for frame in burst:  # written at once, without waiting for answers
            await ws.send(frame)
        answers: dict[str, dict] = {}
        try:
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert message["id"] not in answers, "answered twice"
                answers[message["id"]] = message
        except ConnectionClosed:
            pass
        assert ws.close_code == 1008 and ws.close_reason == "rate limit abuse"
        tracker = venue.server.venue.tracker  # type: ignore[union-attr]
        reached = {record.cl_ord_id for record in tracker.by_cl_ord_id.get("AGRO-1", {}).values()
                   if record.cl_ord_id.startswith("b")}
        assert len(reached) >= 250  # the burst's allowance reached the engine
        accepted = {f"b{id_[1:]}" for id_, answer in answers.items() if answer["ok"]}
        assert accepted == reached, f"{len(reached - accepted)} accepted orders unanswered"
        limited = [a for a in answers.values() if not a["ok"]]
        assert all(a["error"]["code"] == "RATE_LIMITED" for a in limited)
