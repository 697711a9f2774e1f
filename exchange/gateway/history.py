"""Public market history: `trades_history`, `candles` and `ticker` (docs/protocol.md, "Market
history").

Each reads the ledger's trade table (durable by definition) on a worker thread, so the engine
and the other connections go on meanwhile, and answers in one frame under the 64 KiB frame
limit (hence the page sizes). Busted trades: `trades_history` lists them with `busted: true`;
candles and the ticker leave them out (a bust means the trade did not happen). The venue knows
the busts of the current trading day (earlier days' trades can no longer be busted).

These ops are public, like the market data channels: allowed before logon. Reading the ledger
costs more than a message, so each connection also has its own bucket for them
(`HISTORY_RATE` per second, burst `HISTORY_BURST`), answered with RATE_LIMITED when empty.
Costs: `trades_history` O(limit); `candles` and `ticker` O(trades in the window), at most
`MAX_SCAN` trades (a wider window is BAD_REQUEST, saying how to narrow it).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from exchange.engine.instrument import format_price
from exchange.gateway import candles as ohlc
from exchange.gateway import listing, protocol
from exchange.gateway.jobs import now_us
from exchange.gateway.protocol import Code, Request, RequestError
from exchange.gateway.ratelimit import TokenBucket
from exchange.gateway.session import Session
from exchange.gateway.venue import Venue
from exchange.ledger import LedgerError, queries

log = logging.getLogger("exchange.gateway")

TRADES_PAGE, TRADES_PAGE_MAX = 100, 500  # and at most listing.ANSWER_BYTES (long numbers)
CANDLES_PAGE, CANDLES_PAGE_MAX = 100, 500
DAY_US = 86_400_000_000
SCAN_PAGE = 20_000
MAX_SCAN = 1_000_000
HISTORY_RATE, HISTORY_BURST = 10.0, 20.0

_buckets: weakref.WeakKeyDictionary[Session, TokenBucket] = weakref.WeakKeyDictionary()

Handler = Callable[[Venue, Session, Request], Awaitable[None]]


def _allow(session: Session) -> None:
    now = time.monotonic()
    bucket = _buckets.get(session)
    if bucket is None:
        bucket = _buckets[session] = TokenBucket(HISTORY_RATE, HISTORY_BURST, now)
    if not bucket.take(now):
        raise RequestError(Code.RATE_LIMITED, f"history requests: at most {HISTORY_RATE:g}/s "
                                              f"per connection (burst {HISTORY_BURST:g})")


def _symbol(venue: Venue, args: dict[str, Any]) -> tuple[str, int]:
    spec = protocol.spec_for(venue.tracker.specs, args)
    return spec.symbol, spec.price_decimals


async def durable_trades_projected(venue: Venue) -> None:
    """Wait (at most the ledger's 2 s) until its trade table holds every durable trade: the
    ledger writes its projections after the commit, off the engine's path."""
    await venue.ledger.projected(venue.ledger.last_seq)


async def _read(venue: Venue, symbol: str, since_us: int, limit: int, after_seq: int = 0,
                newest: bool = False) -> list[queries.TradeRow]:
    return await venue.trade_rows(symbol, since_us, limit, after_seq, newest)


async def ledger_trade_rows(venue: Venue, symbol: str, since_us: int, limit: int,
                            after_seq: int = 0, newest: bool = False) -> list[queries.TradeRow]:
    """`Venue.trade_rows` of the single-process venue: its ledger's trades table."""
    await durable_trades_projected(venue)
    try:
        return await asyncio.to_thread(queries.trades, venue.ledger.path, symbol, since_us,
                                       limit, venue.engine.instruments, after_seq, newest)
    except LedgerError as exc:  # derived data someone changed: say so, the venue goes on
        log.error("market history: %s", exc)
        raise RequestError("LEDGER_CORRUPT", str(exc)) from None


async def trades_history(venue: Venue, session: Session, request: Request) -> None:
    """{sym, since_us?, cursor?, limit?} -> {sym, trades, next_cursor}: without since_us or
    cursor, the latest `limit` trades; with them, the `limit` trades from there on, oldest
    first, and `next_cursor` to ask for the next page (null at the end)."""
    _allow(session)
    args = request.args
    symbol, decimals = _symbol(venue, args)
    since_us = protocol.integer(args, "since_us", None)
    cursor = args.get("cursor")
    after_seq = 0 if cursor is None else protocol.whole_number(cursor, "cursor")
    limit = protocol.integer(args, "limit", TRADES_PAGE, low=1, high=TRADES_PAGE_MAX)
    paging = since_us is not None or cursor is not None
    rows = await _read(venue, symbol, since_us or 0, limit + 1 if paging else limit,
                       after_seq=after_seq, newest=not paging)
    busted = venue.engine.busted
    views = [(str(row.seq), {
        "trade_id": str(row.trade_id), "px": format_price(row.price, decimals),
        "qty": str(row.qty), "aggressor_side": row.aggressor_side, "ts_us": row.ts_us,
        "busted": row.trade_id in busted}) for row in rows]
    if paging:  # a page ends at `limit` trades or ANSWER_BYTES, whichever comes first
        trades, next_cursor = listing.page(views, limit)
    else:  # the latest trades that fit
        trades, next_cursor = listing.fitting([view for _, view in views], keep_last=True), None
    session.send(protocol.ok(request.id, {"sym": symbol, "trades": trades,
                                          "next_cursor": next_cursor}))


async def _window(venue: Venue, symbol: str, since_us: int, until_us: int) -> list[ohlc.Trade]:
    """The instrument's trades in [since_us, until_us), busts left out, in trade order."""
    busted = venue.engine.busted
    found: list[ohlc.Trade] = []
    after, scanned = 0, 0
    while True:
        rows = await _read(venue, symbol, since_us, SCAN_PAGE, after_seq=after)
        scanned += len(rows)
        if scanned > MAX_SCAN:
            raise RequestError(Code.BAD_REQUEST, f"more than {MAX_SCAN:,} trades in the window: "
                                                 "ask for a later since_us or a shorter window")
        found += [(row.ts_us, row.price, row.qty) for row in rows
                  if row.ts_us < until_us and row.trade_id not in busted]
        if len(rows) < SCAN_PAGE:
            return found
        after = rows[-1].seq


async def candles(venue: Venue, session: Session, request: Request) -> None:
    """{sym, interval, since_us?, until_us?, limit?} -> {sym, interval, candles}: OHLCV per
    interval with trades, oldest first; by default the latest `limit` intervals up to now."""
    _allow(session)
    args = request.args
    symbol, decimals = _symbol(venue, args)
    interval = args.get("interval")
    if interval not in ohlc.INTERVALS_US:
        raise RequestError(Code.BAD_REQUEST,
                           f"interval must be one of {', '.join(ohlc.INTERVALS_US)}")
    interval_us = ohlc.INTERVALS_US[interval]
    limit = protocol.integer(args, "limit", CANDLES_PAGE, low=1, high=CANDLES_PAGE_MAX)
    until_us = protocol.integer(args, "until_us", None) or now_us() + 1
    since_us = protocol.integer(args, "since_us", None)
    latest = since_us is None
    if latest:
        since_us = max(0, until_us - until_us % interval_us - (limit - 1) * interval_us)
    found = ohlc.candles(await _window(venue, symbol, since_us, until_us), interval_us)[:limit]

    def px(units: int) -> str:
        return format_price(units, decimals)

    views = [{"start_us": c.start_us, "open": px(c.open), "high": px(c.high), "low": px(c.low),
              "close": px(c.close), "volume": str(c.volume), "trades": c.trades} for c in found]
    session.send(protocol.ok(request.id, {"sym": symbol, "interval": interval,
                                          "candles": listing.fitting(views, keep_last=latest)}))


async def ticker(venue: Venue, session: Session, request: Request) -> None:
    """{sym} -> the last 24 hours: last, open, change, high, low, volume, vwap, trades, and the
    best bid and offer and the trading phase now."""
    _allow(session)
    symbol, decimals = _symbol(venue, request.args)
    until_us = now_us() + 1
    window = ohlc.stats(await _window(venue, symbol, until_us - DAY_US, until_us))

    def px(units: int | None) -> str | None:
        return None if units is None else format_price(units, decimals)

    change = None if window.last is None else window.last - window.first  # type: ignore[operator]
    vwap = None if not window.volume else format_price(
        ohlc.exact_ratio(window.notional, window.volume), decimals + ohlc.EXTRA_DECIMALS)
    best = venue.market.bbo(symbol)
    session.send(protocol.ok(request.id, {
        "sym": symbol, "window_us": DAY_US, "last": px(window.last), "open": px(window.first),
        "change": px(change), "high": px(window.high), "low": px(window.low),
        "volume": str(window.volume), "vwap": vwap, "trades": window.trades,
        "bid_px": best["bid_px"], "bid_qty": best["bid_qty"],
        "ask_px": best["ask_px"], "ask_qty": best["ask_qty"], "phase": best["phase"],
        "ts_us": until_us - 1,
    }))


HISTORY_OPS: dict[str, Handler] = {
    "trades_history": trades_history,
    "candles": candles,
    "ticker": ticker,
}
