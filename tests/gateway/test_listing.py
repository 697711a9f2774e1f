"""The trader's `instruments` op on a big venue (gateway/listing.py): filters, pages that walk
every instrument once, each answer under the frame limit however long the text fields are, a
bounded scan per page, and the client walking the pages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exchange.client import ExchangeError
from exchange.engine import AddInstrument
from exchange.gateway import listing
from tests.gateway.conftest import WHEAT, Venue, open_venue

FRAME_LIMIT = 64 * 1024


async def _list_many(venue: Venue, count: int) -> None:
    long = "x" * 60
    await venue.server.setup([AddInstrument(
        3, f"OATS-{n:05}", f"oats {long}", f"feed No.{n % 3} {long}", f"FOB Rouen {long}",
        f"2027-{n % 12 + 1:02}", "t", 25, 25, 2, 1, 100, 20_000, 400) for n in range(count)],
        "operator:test")


async def test_pages_walk_every_instrument_once_each_under_the_frame_limit(
        tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        await _list_many(venue, 1500)
        anonymous = await venue.client()
        seen, cursor, pages = [], None, 0
        while True:
            answer = await anonymous.request("instruments", cursor=cursor)
            assert len(json.dumps(answer)) < FRAME_LIMIT
            seen += [spec["sym"] for spec in answer["instruments"]]
            pages += 1
            if (cursor := answer["next_cursor"]) is None:
                break
        assert pages > 1 and len(seen) == len(set(seen)) == 1503
        assert seen[:3] == [WHEAT, "PIPE-114X6-A-CTA-2703", "UREA-46-ANR-27Q2"]
        assert len(await anonymous.instruments()) == 1503  # the client walks them all


async def test_filters_combine_and_a_symbol_is_found_directly(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        await _list_many(venue, 300)
        client = await venue.client()
        found = await client.instruments(prefix="OATS-001", period="2027-01")
        assert sorted(found) == ["OATS-00108", "OATS-00120", "OATS-00132", "OATS-00144",
                                 "OATS-00156", "OATS-00168", "OATS-00180", "OATS-00192"]
        assert list(await client.instruments(search="urea antwerp")) == ["UREA-46-ANR-27Q2"]
        assert list(await client.instruments(search="milling", state="open")) == [WHEAT]
        assert list(await client.instruments(sym="OATS-00007")) == ["OATS-00007"]
        assert await client.instruments(sym="NOPE") == {}
        page = await client.request("instruments", limit=10)
        assert len(page["instruments"]) == 10 and page["next_cursor"] == "10"
        for bad in ({"cursor": "ten"}, {"limit": 501}, {"search": 5}):
            with pytest.raises(ExchangeError) as refused:
                await client.request("instruments", **bad)
            assert refused.value.code == "BAD_REQUEST", bad


async def test_a_rare_match_is_found_over_several_bounded_pages(tmp_path: Path,
                                                                 monkeypatch) -> None:
    monkeypatch.setattr(listing, "SCAN_MAX", 100)
    async with open_venue(tmp_path / "l.db") as venue:
        await _list_many(venue, 450)
        client = await venue.client()
        answers, cursor = [], None
        while True:
            answer = await client.request("instruments", search="OATS-00449", cursor=cursor)
            answers.append([spec["sym"] for spec in answer["instruments"]])
            if (cursor := answer["next_cursor"]) is None:
                break
        assert answers == [[], [], [], [], ["OATS-00449"]]  # 100 looked at a page
