"""Operator views, read-only: a book, orders, trades (from the ledger's trade table), and the
venue's health."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from exchange.engine.instrument import (
    format_price,
)
from exchange.gateway import listing, protocol
from exchange.gateway.operators.base import (
    DEFAULT_LIST,
    MAX_LIST,
    _account,
    _firm,
    _instrument,
    _query,
)
from exchange.gateway.protocol import Code, Request, RequestError
from exchange.gateway.session import Session
from exchange.gateway.venue import Venue
from exchange.ledger import LedgerError, queries

log = logging.getLogger("exchange.gateway")


async def book(venue: Venue, session: Session, request: Request) -> None:
    args = request.args
    depth = protocol.integer(args, "depth", 10, low=1, high=1000)

    def read(venue: Venue) -> dict[str, Any]:
        instrument = _instrument(venue, args)
        decimals = instrument.spec.price_decimals
        ladders = venue.engine.books[instrument.symbol]
        view: dict[str, Any] = {"sym": instrument.symbol, "state": instrument.state.name}
        for side, ladder in (("bids", ladders.bids), ("asks", ladders.asks)):
            levels: list[dict[str, Any]] = []
            for level in ladder:
                if len(levels) == depth:
                    break
                levels.append({"px": format_price(level.price, decimals),
                               "qty": str(level.total), "orders": len(level.orders)})
            view[side] = levels
        return view

    await _query(venue, session, request, read)


async def list_orders(venue: Venue, session: Session, request: Request) -> None:
    """Open orders of an account or a firm (`closed: true` adds finished ones, newest first)."""
    args = request.args
    account = protocol.name(args, "account", None)
    firm = protocol.name(args, "firm", None)
    if (account is None) == (firm is None):
        raise RequestError(Code.BAD_REQUEST, "give an account or a firm")
    symbol = protocol.name(args, "sym", None)
    closed = protocol.flag(args, "closed")
    limit = protocol.integer(args, "limit", DEFAULT_LIST, low=1, high=MAX_LIST)

    def read(venue: Venue) -> dict[str, Any]:
        names = {_account(venue, account).account} if account else {
            a.account for a in _firm(venue, firm).accounts}  # type: ignore[arg-type]
        tracker = venue.tracker
        if closed:
            records = [r for r in reversed(tracker.orders.values()) if r.account in names]
        else:
            records = [r for name in sorted(names)
                       for r in tracker.open_orders.get(name, {}).values()]
        views = [tracker.view(r) for r in records if symbol is None or r.symbol == symbol]
        return {"orders": listing.fitting(views[:limit]), "total": len(views)}  # frame limit

    await _query(venue, session, request, read)


async def list_trades(venue: Venue, session: Session, request: Request) -> None:
    """Trades from the ledger's trade table (durable; it trails the chain by the batches being
    projected, a few ms), oldest first."""
    args = request.args
    symbol = protocol.name(args, "sym", None)
    if symbol is not None and symbol not in venue.engine.instruments:
        raise RequestError(Code.UNKNOWN_INSTRUMENT, f"no instrument {symbol!r}")
    since_us = protocol.integer(args, "since_us", 0)
    limit = protocol.integer(args, "limit", DEFAULT_LIST, low=1, high=MAX_LIST)
    after_seq = listing.page_args(args, MAX_LIST)[1]  # cursor: the seq of a page's last trade
    await venue.ledger.projected(venue.ledger.last_seq)  # every durable trade is listed
    try:
        rows = await asyncio.to_thread(queries.trades, venue.ledger.path, symbol, since_us,
                                       limit + 1, venue.engine.instruments, after_seq or 0)
    except LedgerError as exc:  # derived data someone changed: say so, the venue goes on
        log.error("list_trades: %s", exc)
        raise RequestError("LEDGER_CORRUPT", str(exc)) from None
    busted = venue.engine.busted
    specs = venue.engine.instruments
    views = []
    for trade_id, seq, ts_us, sym, price, qty, aggressor, buyer, seller in rows:
        decimals = specs[sym].spec.price_decimals
        views.append((str(seq), {
            "trade_id": str(trade_id), "seq": seq, "ts_us": ts_us, "sym": sym,
            "px": format_price(price, decimals), "qty": str(qty), "aggressor_side": aggressor,
            "buy_account": buyer, "sell_account": seller, "busted": trade_id in busted}))
    trades, next_cursor = listing.page(views, limit)  # under the frame limit (listing.py)
    session.send(protocol.ok(request.id, {"trades": trades, "next_cursor": next_cursor}))


async def stats(venue: Venue, session: Session, request: Request) -> None:
    sessions: dict[str, int] = {}
    for other in venue.sessions:
        principal = other.principal
        key = "(not logged on)" if principal is None else other.firm or f"({principal.role})"
        sessions[key] = sessions.get(key, 0) + 1
    engine = venue.engine
    ledger = venue.ledger
    path = str(ledger.path)
    size = sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
    activity = venue.activity
    session.send(protocol.ok(request.id, {
        "connections": len(venue.sessions),
        "sessions_by_firm": dict(sorted(sessions.items())),
        **activity.rates(time.monotonic(), engine),
        "ledger_bytes": size, **ledger.health(),
        "batches": venue.batches, "queued": venue.queue.qsize(),
        "instruments": len(engine.instruments), "firms": len(engine.firms),
        "accounts": len(engine.accounts), "open_orders": len(engine.orders),
        "slow_consumer_disconnects": activity.slow_consumer_disconnects,
        "resyncs_required": activity.resyncs_required,
    }))
