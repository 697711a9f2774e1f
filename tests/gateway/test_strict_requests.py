"""Strict requests (issue 9): numbers by one ASCII rule, unknown fields refused by name, text
that is always encodable, decimals in their canonical spelling only, and a clean 4xx for an
unknown subprotocol. Each answer is an error code on a connection that stays open, and the
venue's state is what it was (the engine digest does not move for a refused request)."""

from __future__ import annotations

import asyncio
import http.client
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from exchange.gateway.ops import OPS
from exchange.gateway.protocol import Code
from tests.gateway.conftest import WHEAT, Venue, ask, open_venue


async def _logged_on(venue: Venue, key: str, binary: bool = False) -> ClientConnection:
    ws = await connect(venue.url, compression=None)
    await ask(ws, "logon", {"api_key": venue.keys[key]}, binary)
    return ws


def _code(answer: dict[str, Any]) -> str:
    assert answer["ok"] is False, answer
    return answer["error"]["code"]  # type: ignore[no-any-return]


def _digest(venue: Venue) -> str:
    return venue.server.venue.engine.digest()  # type: ignore[union-attr]


ORDER = {"cl_ord_id": "s-1", "sym": WHEAT, "side": "BUY", "qty": "1", "px": "200.00"}


# -- 1. numbers: one ASCII rule ------------------------------------------------------------


@pytest.mark.parametrize("text", ["¹", "١", "٣٤", "１", "01", "+1", "-1", " 1", "1 ", "",
                                  "9" * 19])
async def test_ids_and_counts_take_ascii_digits_only(tmp_path: Path, text: str) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        trader = await _logged_on(venue, "AGRO-1")
        operator = await _logged_on(venue, "operator")
        before = _digest(venue)
        for ws, op, args in (
            (trader, "cancel_order", {"order_id": text}),
            (trader, "replace_order", {"order_id": text, "qty": "1", "px": "200.00"}),
            (trader, "order_status", {"order_id": text}),
            (operator, "order_status", {"order_id": text}),
            (operator, "bust_trade", {"trade_id": text, "reason": "test"}),
            (operator, "set_price_band", {"sym": WHEAT, "band_ticks": text}),
            (operator, "add_account", {"account": "N-1", "firm": "NEWCO",
                                       "max_open_orders": text}),
            (operator, "import_instruments", {"import_id": "i", "rows": [], "total": text}),
            (trader, "instruments", {"cursor": text}),
            (trader, "trades_history", {"sym": WHEAT, "cursor": text}),
            (trader, "my_trades", {"cursor": text}),
            (trader, "order_history", {"cursor": text}),
        ):
            assert _code(await ask(ws, op, args)) == Code.BAD_REQUEST, (op, text)
        assert _digest(venue) == before
        assert (await ask(trader, "ping"))["ok"]  # the connection lives


async def test_an_instrument_row_takes_ascii_digits_only(tmp_path: Path) -> None:
    row = {"sym": "X-1", "commodity": "c", "grade": "g", "location": "l",
           "delivery_period": "2701", "unit": "t", "lot_size": "1", "tick": "0.01",
           "price_decimals": "2"}
    async with open_venue(tmp_path / "l.db") as venue:
        operator = await _logged_on(venue, "operator")
        for column in ("lot_size", "price_decimals", "min_qty", "max_qty", "band_ticks"):
            for text in ("²", "٢", "02"):
                answer = await ask(operator, "add_instrument", {**row, column: text})
                assert _code(answer) == Code.BAD_REQUEST and column in answer["error"]["msg"]
        assert (await ask(operator, "add_instrument", row))["ok"]


# -- 2. unknown fields -----------------------------------------------------------------------


async def test_an_unknown_order_field_is_refused_by_name_and_nothing_trades(
        tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        seller = await _logged_on(venue, "MILL-1")
        assert (await ask(seller, "new_order", {**ORDER, "side": "SELL", "cl_ord_id": "m"}))["ok"]
        buyer = await _logged_on(venue, "AGRO-1", binary=True)
        before = _digest(venue)
        for extra in ({"postOnly": True}, {"time_in_force": "FOK"}):
            answer = await ask(buyer, "new_order", {**ORDER, **extra}, binary=True)
            assert _code(answer) == Code.UNKNOWN_FIELD
            assert next(iter(extra)) in answer["error"]["msg"]
        assert _digest(venue) == before  # no GTC taker traded
        answer = await ask(buyer, "new_order", {**ORDER, "post_only": True}, binary=True)
        assert _code(answer) == "WOULD_TAKE"


async def test_every_op_and_the_envelope_refuse_unknown_fields(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        clients = {role: await _logged_on(venue, key) for role, key in (
            ("trader", "AGRO-1"), ("operator", "operator"), ("auditor", "auditor"))}
        before = _digest(venue)
        for op, spec in OPS.items():
            if op == "logon":
                continue
            role = "trader" if spec.roles is None else spec.roles[0]
            answer = await ask(clients[role], op, {"bogus_field": "1"})
            assert _code(answer) == Code.UNKNOWN_FIELD, op
            assert "bogus_field" in answer["error"]["msg"]
        fresh = await connect(venue.url)
        answer = await ask(fresh, "logon", {"api_key": venue.keys["AGRO-1"], "lang": "en"})
        assert _code(answer) == Code.UNKNOWN_FIELD
        for role, ws in clients.items():
            answer = await ask(ws, "ping", None, extra="x")
            assert _code(answer) == Code.UNKNOWN_FIELD and answer["id"] == "q", role
            assert "extra" in answer["error"]["msg"]
        answer = await ask(clients["trader"], "new_order", {**ORDER, "\ud800": 1})
        assert _code(answer) == Code.UNKNOWN_FIELD
        assert _digest(venue) == before


# -- 3. text ---------------------------------------------------------------------------------


LONE = "\ud800"


async def test_unencodable_text_is_refused_before_anything_is_applied(tmp_path: Path) -> None:
    row = ["X-1", "c", "g", "l", "2701", "t", "1", "0.01", "2", None, None, None, None]
    async with open_venue(tmp_path / "l.db") as venue:
        operator = await _logged_on(venue, "operator")
        before = _digest(venue)
        for place, column in enumerate(("commodity", "grade", "location", "delivery_period",
                                        "unit"), 1):
            for bad in (LONE, "a\x00b", "a\u200bb", "x" * 201):
                args = {"sym": "X-1", "commodity": "c", "grade": "g", "location": "l",
                        "delivery_period": "2701", "unit": "t", "lot_size": "1",
                        "tick": "0.01", "price_decimals": "2", column: bad}
                answer = await ask(operator, "add_instrument", args)
                assert _code(answer) == Code.BAD_REQUEST and column in answer["error"]["msg"]
                bad_row = [*row[:place], bad, *row[place + 1:]]
                answer = await ask(operator, "import_instruments",
                                    {"import_id": f"i{place}-{len(bad)}-{ord(bad[1] if len(bad) > 1 else bad[0])}",
                                     "rows": [bad_row]})
                assert _code(answer) == Code.BAD_REQUEST and column in answer["error"]["msg"]
        for bad in (LONE, "X\x01"):
            answer = await ask(operator, "add_instrument", {
                "sym": bad, "commodity": "c", "grade": "g", "location": "l",
                "delivery_period": "2701", "unit": "t", "lot_size": "1", "tick": "0.01",
                "price_decimals": "2"})
            assert _code(answer) == Code.BAD_REQUEST
        assert _digest(venue) == before
        assert (await ask(operator, "stats"))["ok"]  # the venue still runs


@pytest.mark.parametrize("binary", [False, True])
async def test_a_lone_surrogate_api_key_is_unauthenticated_not_1011(
        tmp_path: Path, binary: bool) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        ws = await connect(venue.url, compression=None)
        key_id = venue.keys["AGRO-1"].split(".")[0]
        for key in (LONE, f"{key_id}.{LONE}", f"{key_id}.é", f"{LONE}.x"):
            if binary:  # MessagePack cannot carry a lone surrogate: the JSON case covers it
                key = key.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
            assert _code(await ask(ws, "logon", {"api_key": key}, binary)) == \
                Code.UNAUTHENTICATED
        assert (await ask(ws, "logon", {"api_key": venue.keys["AGRO-1"]}, binary))["ok"]


# -- 4. canonical decimals -------------------------------------------------------------------


async def test_decimals_only_in_their_canonical_spelling(tmp_path: Path) -> None:
    """No leading zeros, no "-0", no "+"; fewer decimals than the instrument's are the same
    exact value ("209" is 209.00), more are INVALID_PRICE_INCREMENT; qty without leading zeros."""
    async with open_venue(tmp_path / "l.db") as venue:
        trader = await _logged_on(venue, "AGRO-1")
        before = _digest(venue)
        for px, code in (("0209.00", Code.INVALID_PRICE), ("-0", Code.INVALID_PRICE),
                         ("-0.00", Code.INVALID_PRICE), ("+209.00", Code.INVALID_PRICE),
                         ("209.", Code.INVALID_PRICE), (".5", Code.INVALID_PRICE),
                         ("2e2", Code.INVALID_PRICE), ("٢٠٩", Code.INVALID_PRICE),
                         ("209.000", Code.INVALID_PRICE_INCREMENT)):
            answer = await ask(trader, "new_order", {**ORDER, "px": px})
            assert _code(answer) == code, px
        for qty in ("01", "00005", "-0", "+1", "1.0", "٥"):
            answer = await ask(trader, "new_order", {**ORDER, "qty": qty})
            assert _code(answer) == Code.INVALID_QUANTITY, qty
        assert _digest(venue) == before
        for cl_ord_id, px, shown in (("a", "209", "209.00"), ("b", "209.5", "209.50")):
            answer = await ask(trader, "new_order", {**ORDER, "cl_ord_id": cl_ord_id, "px": px})
            assert answer["result"]["px"] == shown


# -- 7. subprotocols -------------------------------------------------------------------------


async def test_an_unknown_subprotocol_is_a_400_not_a_500(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        port = venue.server.port

        def handshake() -> int:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/", headers={
                "Upgrade": "websocket", "Connection": "Upgrade",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Protocol": "exchange.xml.v9"})
            status = connection.getresponse().status
            connection.close()
            return status

        assert await asyncio.to_thread(handshake) == 400
        ws = await connect(venue.url, subprotocols=["exchange.xml.v9", "exchange.json.v1"])  # type: ignore[list-item]
        assert ws.subprotocol == "exchange.json.v1"
