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

import heapq
import itertools
import json
from collections.abc import Iterable, Iterator
from typing import Any

from exchange.gateway import protocol
from exchange.gateway.jobs import Job
from exchange.gateway.orders import OrderTracker
from exchange.gateway.protocol import Code, Request, RequestError
from exchange.gateway.session import Session
from exchange.gateway.venue import Venue

PAGE_MAX = 500
ANSWER_BYTES = 60_000  # the views' JSON; the envelope and MessagePack only add less
SCAN_MAX = 20_000
EXACT = (("commodity", "commodity"), ("location", "location"), ("period", "delivery_period"),
         ("state", "state"))


def page(items: Iterable[tuple[str, dict[str, Any]]],
         limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a listing: `items` are (the cursor that resumes after this item, its view),
    in listing order. Takes at most `limit` views and stops before their JSON passes
    `ANSWER_BYTES` (a first view is always taken, so a walk always advances); returns them and
    the next cursor, None once `items` ran out. Cost: one JSON encoding per view taken."""
    found: list[dict[str, Any]] = []
    size, resume = 0, None
    for cursor, view in items:
        size += len(json.dumps(view)) + 1
        if found and (len(found) == limit or size > ANSWER_BYTES):
            return found, resume
        found.append(view)
        resume = cursor
    return found, None


def fitting(views: list[dict[str, Any]], keep_last: bool = False) -> list[dict[str, Any]]:
    """The longest run of `views` (from the start, or with `keep_last` from the end) whose JSON
    stays within `ANSWER_BYTES`: for answers that are not walked by a cursor."""
    size, taken = 0, 0
    for view in (reversed(views) if keep_last else views):
        size += len(json.dumps(view)) + 1
        if taken and size > ANSWER_BYTES:
            break
        taken += 1
    return views[len(views) - taken:] if keep_last else views[:taken]


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
    limit, cursor = page_args(args)
    start = cursor or 0

    def work(venue: Venue) -> Any:
        specs, states = venue.tracker.specs, venue.engine.instruments
        if symbol is not None:
            spec = specs.get(symbol)
            found = [] if spec is None else [protocol.instrument_view(spec, states[symbol].state)]
            return {"instruments": [v for v in found if _matches(v, exact, prefix, words)],
                    "next_cursor": None}
        end = min(start + SCAN_MAX, len(specs))

        def matching() -> Iterator[tuple[str, dict[str, Any]]]:
            for position, spec in enumerate(itertools.islice(specs.values(), start, end), start):
                view = protocol.instrument_view(spec, states[spec.symbol].state)
                if _matches(view, exact, prefix, words):
                    yield str(position + 1), view

        found, next_cursor = page(matching(), limit)
        if next_cursor is None and end < len(specs):
            next_cursor = str(end)  # scanned SCAN_MAX: more may match further on
        return {"instruments": found, "next_cursor": next_cursor}

    await venue.submit(Job(session, request.id, work, session.origin, query=True))


def page_args(args: dict[str, Any], most: int = PAGE_MAX) -> tuple[int, int | None]:
    """(`limit`, default and most `most`; `cursor` as a number, None: from the start)."""
    limit = protocol.integer(args, "limit", most, low=1, high=most)
    cursor = args.get("cursor")
    return limit, None if cursor is None else protocol.whole_number(cursor, "cursor")


def open_orders_page(tracker: OrderTracker, accounts: list[str] | None, symbol: str | None,
                     limit: int, after: int | None) -> dict[str, Any]:
    """The `open_orders` answer: the live orders of `accounts` (None: every account) by order id,
    from after the order id `after`, `limit` of them and never past `ANSWER_BYTES`; each page's
    `next_cursor` is its last order id. Cost: O(n log limit) for the n live orders read."""
    after = -1 if after is None else after
    books = (tracker.open_orders.values() if accounts is None
             else [tracker.open_orders.get(account, {}) for account in accounts])
    live = ((order_id, record) for book in books for order_id, record in book.items()
            if order_id > after and (symbol is None or record.symbol == symbol))
    first = heapq.nsmallest(limit + 1, live, key=lambda pair: pair[0])
    found, next_cursor = page(((str(order_id), tracker.view(record))
                               for order_id, record in first), limit)
    return {"orders": found, "next_cursor": next_cursor}
