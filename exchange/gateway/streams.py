"""The subscribe and unsubscribe ops: market-data channels (book, depth-limited book, trades,
best bid/offer) and execution reports, with a resume from `exec_seq`.

A subscription is evaluated when its batch is sealed, and the client joins the stream once the
batch is durable: the next delta it sees continues the snapshot's seq; a resume is served from
the venue's kept reports, or re-derived from the ledger when it reaches further back.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from exchange.gateway import protocol
from exchange.gateway.depth import channel_key, parse_depth
from exchange.gateway.handlers import TRADER, readable_account, submit
from exchange.gateway.protocol import Code, Request, RequestError
from exchange.gateway.session import Session
from exchange.gateway.venue import Venue

MARKET_CHANNELS = ("book", "trades", "bbo", "auction")
CHANNELS_NAMED = "ch must be exec, book, trades, bbo or auction"


async def subscribe(venue: Venue, session: Session, request: Request) -> None:
    args = request.args
    channel = args.get("ch")
    if channel == "exec":
        await _subscribe_exec(venue, session, request)
        return
    if channel not in MARKET_CHANNELS:
        raise RequestError(Code.BAD_REQUEST, CHANNELS_NAMED)
    if not session.md_bucket.take(time.monotonic()):
        config = session.config
        raise RequestError(Code.RATE_LIMITED, f"market-data subscribes: at most "
                           f"{config.md_subscribe_rate:g}/s per connection (burst "
                           f"{config.md_subscribe_burst:g})")
    symbol = protocol.spec_for(venue.tracker.specs, args).symbol
    depth = parse_depth(args) if channel == "book" else None
    key = channel_key(depth) if channel == "book" else channel
    _reserve_stream(session, key, symbol)

    def work(venue: Venue) -> Any:
        # the state now is what the client gets when this batch is durable; it joins the
        # stream then, so the next delta it sees continues this snapshot's seq
        market = venue.market
        feed = market.feeds[symbol]
        seq = feed.auction.seq if channel == "auction" else feed.seq
        if depth is not None:
            view = venue.depth.view(symbol, depth, feed.book)
            message: dict[str, Any] | None = view.snapshot(symbol, feed.ts_us)
            seq = view.seq
        else:
            first = {"book": market.snapshot, "bbo": market.bbo,
                     "auction": market.auction_snapshot}.get(channel)
            message = None if first is None else first(symbol)

        def after() -> None:
            session.md_joining -= 1
            venue.subscribe_market(session, key, symbol)
            if message is not None:
                session.send(message)
        answer = {"ch": channel, "sym": symbol, "seq": seq}
        return (answer if depth is None else {**answer, "depth": depth}), after

    try:
        await submit(venue, session, request, work, query=True, at_seal=True)
    except BaseException:
        session.md_joining -= 1  # never queued
        raise


def _reserve_stream(session: Session, key: str, symbol: str) -> None:
    """Count a subscribe toward the connection's cap on market-data streams, or refuse it
    (TOO_MANY_STREAMS). Streams joined and subscribes still in flight both count, so pipelined
    subscribes cannot pass the cap; subscribing again to a stream the connection has is free."""
    most = session.config.md_streams_max
    if (key, symbol) not in session.md_channels and (
            len(session.md_channels) + session.md_joining >= most):
        raise RequestError(Code.TOO_MANY_STREAMS, f"at most {most} market-data streams per "
                           "connection (a channel of one instrument each, a book depth apart): "
                           "unsubscribe one first, or open another connection")
    session.md_joining += 1


async def _subscribe_exec(venue: Venue, session: Session, request: Request) -> None:
    args = request.args
    wanted = args.get("account")
    account: str | None = None
    if session.principal is None:  # market data is public; execution reports are not
        raise RequestError(Code.UNAUTHENTICATED, "log on first")
    if wanted == "*" and session.principal.role != TRADER:  # type: ignore[union-attr]
        account = "*"
    else:
        account = readable_account(venue, session, wanted)
        if account is None:
            raise RequestError(Code.BAD_REQUEST, "account is required (or \"*\" for all)")
    resume = protocol.integer(args, "resume_from_exec_seq", None)
    if resume is not None and (account == "*" or session.exec_backlog is not None):
        raise RequestError(Code.BAD_REQUEST, "resume needs one account, one at a time")

    def work(venue: Venue) -> Any:
        # evaluated in the engine task right after this batch's commands: reports up to
        # `last` (durable by the time this is answered) come from the venue's kept reports,
        # or from the ledger if they reach back further; later ones live
        last = venue.tracker.exec_seq.get(account, 0)
        venue.want_reports(account)
        upto_seq = venue.engine.last_command_seq
        catch_up = resume is not None and resume < last
        if catch_up:
            session.exec_backlog = []

        def after() -> None:
            venue.subscribe_exec(session, account)
            if not catch_up:
                return
            kept = venue.reports.kept(account, resume, last)  # type: ignore[arg-type]
            if kept is None:  # further back than the venue keeps: re-derive from the ledger
                asyncio.get_running_loop().create_task(
                    _catch_up(venue, session, account, resume, last, upto_seq))
                return
            session.exec_backlog = None
            for report in kept:
                session.send(report)
        return {"ch": "exec", "account": account, "exec_seq": last}, after

    await submit(venue, session, request, work, query=True, at_seal=True)


async def _catch_up(venue: Venue, session: Session, account: str, after: int, upto: int,
                    upto_seq: int) -> None:
    """Send what the client missed (from the ledger), then the reports held meanwhile."""
    async for report in venue.missed_reports(account, after, upto, upto_seq):
        session.send(report)
    backlog, session.exec_backlog = session.exec_backlog or [], None
    for report in backlog:
        session.send(report)


async def unsubscribe(venue: Venue, session: Session, request: Request) -> None:
    args = request.args
    channel = args.get("ch")
    if channel == "exec":
        for account in list(session.exec_accounts):
            venue.unsubscribe_exec(session, account)
    elif channel in MARKET_CHANNELS:
        key = channel_key(parse_depth(args)) if channel == "book" else channel
        venue.unsubscribe_market(session, key, protocol.name(args, "sym"))
    else:
        raise RequestError(Code.BAD_REQUEST, CHANNELS_NAMED)
    session.send(protocol.ok(request.id, {"ch": channel}))
