"""The trader's `instruments` op: filtered, paged, and never an answer over the frame limit.

Filters (all optional, combined): `sym` (exact), `prefix` (of the symbol), `commodity`,
`location`, `period`, `state` (exact, case-insensitive, as the operators' list_instruments),
`search` (words that must all appear in the symbol, commodity, grade, location or delivery
period, case-insensitive). A page holds at most `limit` instruments (default and most 500) and
at most `ANSWER_BYTES` of them encoded, so it fits the 64 KiB frame limit whatever the text
fields hold; `next_cursor` (null at the end) continues the walk. Cost: a page looks at no more
than `SCAN_MAX` instruments (it runs in the engine task), so a filter that matches rarely may
answer a page with fewer instruments, even none, and a `next_cursor`: keep asking.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from exchange.gateway import protocol
from exchange.gateway.protocol import Code, Request, RequestError
from exchange.gateway.session import Session
from exchange.gateway.venue import Job, Venue

PAGE_MAX = 500
ANSWER_BYTES = 60_000  # the views' JSON; the envelope and MessagePack only add less
SCAN_MAX = 20_000
EXACT = (("commodity", "commodity"), ("location", "location"), ("period", "delivery_period"),
         ("state", "state"))


def _filters(args: dict[str, Any]) -> tuple[dict[str, str], str | None, list[str]]:
    exact = {key: protocol.name(args, arg).casefold() for arg, key in EXACT
             if args.get(arg) is not None}
    prefix = protocol.name(args, "prefix", None)
    search = args.get("search")
    if search is not None and (type(search) is not str or len(search) > 200):
        raise RequestError(Code.BAD_REQUEST, "search must be text of at most 200 characters")
    return exact, prefix, (search or "").casefold().split()


def _matches(view: dict[str, Any], exact: dict[str, str], prefix: str | None,
             words: list[str]) -> bool:
    if prefix is not None and not view["sym"].startswith(prefix):
        return False
    if any(view[key].casefold() != wanted for key, wanted in exact.items()):
        return False
    if words:
        text = " ".join((view["sym"], view["commodity"], view["grade"], view["location"],
                         view["delivery_period"])).casefold()
        return all(word in text for word in words)
    return True


async def instruments(venue: Venue, session: Session, request: Request) -> None:
    args = request.args
    exact, prefix, words = _filters(args)
    symbol = protocol.name(args, "sym", None)
    limit = protocol.integer(args, "limit", PAGE_MAX, low=1, high=PAGE_MAX)
    cursor = args.get("cursor")
    start = 0 if cursor is None else protocol.whole_number(cursor, "cursor")

    def work(venue: Venue) -> Any:
        specs, states = venue.tracker.specs, venue.engine.instruments
        if symbol is not None:
            spec = specs.get(symbol)
            found = [] if spec is None else [protocol.instrument_view(spec, states[symbol].state)]
            return {"instruments": [v for v in found if _matches(v, exact, prefix, words)],
                    "next_cursor": None}
        found, size, position = [], 0, start
        for spec in itertools.islice(specs.values(), start, start + SCAN_MAX):
            view = protocol.instrument_view(spec, states[spec.symbol].state)
            if _matches(view, exact, prefix, words):
                size += len(json.dumps(view)) + 1
                if len(found) == limit or size > ANSWER_BYTES:
                    break
                found.append(view)
            position += 1
        more = position < len(specs)
        return {"instruments": found, "next_cursor": str(position) if more else None}

    await venue.submit(Job(session, request.id, work, session.origin, query=True))
