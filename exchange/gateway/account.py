"""A trader's own account: `account_status` (limits, credit, kill switches), `my_trades` (fills,
from the ledger) and `order_history` (finished orders) (docs/protocol.md, "Your account").

A trader reads its own account by default, or another account of its firm; auditors and
operators name any account. Answers stay under the 64 KiB frame limit (page sizes), and page
with a `cursor` taken from the previous answer's `next_cursor`.
Costs: `account_status` O(the firm's open buy orders); `my_trades` O(trades scanned: the
ledger's trade table from the cursor on, filtered by account); `order_history` O(orders of the
day, in memory).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from exchange.engine.instrument import NOTIONAL_DECIMALS, format_price
from exchange.gateway import listing, protocol
from exchange.gateway.history import durable_trades_projected
from exchange.gateway.jobs import Job
from exchange.gateway.operators.accounts import account_view, firm_view
from exchange.gateway.protocol import Code, Request, RequestError
from exchange.gateway.session import Session
from exchange.gateway.venue import Venue
from exchange.ledger import LedgerError, queries

log = logging.getLogger("exchange.gateway")

PAGE, PAGE_MAX = 100, 200  # orders and fills of ~300 bytes: under 64 KiB

Handler = Callable[[Venue, Session, Request], Awaitable[None]]


def _account(venue: Venue, session: Session, args: dict[str, Any]) -> str:
    """The account a request reads: a trader's own by default, or one of its firm's."""
    principal = session.principal
    assert principal is not None
    wanted = protocol.name(args, "account", None)
    if wanted is None:
        if principal.account is None:
            raise RequestError(Code.BAD_REQUEST, "account is required")
        return principal.account
    known = venue.engine.accounts.get(wanted)
    if principal.role == "trader" and (known is None or known.firm != session.firm):
        raise RequestError(Code.FORBIDDEN, "not an account of your firm")
    if known is None:
        raise RequestError("UNKNOWN_ACCOUNT", f"no account {wanted!r}")
    return wanted  # type: ignore[no-any-return]


def _cursor(args: dict[str, Any]) -> int | None:
    cursor = args.get("cursor")
    if cursor is None:
        return None
    return protocol.whole_number(cursor, "cursor")


def _money(value: int | None) -> str | None:
    return None if value is None else format_price(value, NOTIONAL_DECIMALS)


async def account_status(venue: Venue, session: Session, request: Request) -> None:
    """The account's limits and open orders, its firm's credit (limit, used, remaining) and
    whether a kill switch (account or firm) blocks new orders."""
    name = _account(venue, session, request.args)

    def read(venue: Venue) -> dict[str, Any]:
        engine = venue.engine
        account = engine.accounts[name]
        firm = engine.firms[account.firm]
        open_buys = firm.open_buy_notional(engine.instruments)
        used = open_buys + firm.net_bought  # the engine's exposure rule (Engine, CREDIT_LIMIT)
        limit = firm.credit_limit
        return {
            **account_view(account),
            "firm_blocked": firm.blocked,
            "can_trade": not (account.blocked or firm.blocked),
            "firm_credit_limit": firm_view(firm, engine.instruments)["credit_limit"],
            "firm_net_bought": _money(firm.net_bought),
            "firm_open_buy_notional": _money(open_buys),
            "firm_credit_used": _money(used),
            "firm_credit_remaining": None if limit is None else _money(limit - used),
            "exec_seq": venue.tracker.exec_seq.get(name, 0),
        }

    await venue.submit(Job(session, request.id, read, session.origin, query=True))


async def my_trades(venue: Venue, session: Session, request: Request) -> None:
    """The account's fills from the ledger, oldest first from `since_us`/`cursor` (default: the
    latest `limit`), each with its side and liquidity, and whether it was busted."""
    args = request.args
    name = _account(venue, session, args)
    symbol = None if args.get("sym") is None else protocol.spec_for(
        venue.tracker.specs, args).symbol
    since_us = protocol.integer(args, "since_us", None)
    cursor = _cursor(args)
    limit = protocol.integer(args, "limit", PAGE, low=1, high=PAGE_MAX)
    paging = since_us is not None or cursor is not None
    await durable_trades_projected(venue)
    try:
        rows = await asyncio.to_thread(
            queries.trades, venue.ledger.path, symbol, since_us or 0,
            limit + 1 if paging else limit, venue.engine.instruments, cursor or 0, not paging,
            name)
    except LedgerError as exc:
        log.error("my_trades: %s", exc)
        raise RequestError("LEDGER_CORRUPT", str(exc)) from None
    more = paging and len(rows) > limit
    rows = rows[:limit]
    busted, specs = venue.engine.busted, venue.tracker.specs
    fills = []
    for row in rows:
        side = "BUY" if row.buyer_account == name else "SELL"
        fills.append({
            "trade_id": str(row.trade_id), "sym": row.symbol, "side": side,
            "px": format_price(row.price, specs[row.symbol].price_decimals),
            "qty": str(row.qty), "liquidity": "TAKER" if row.aggressor_side == side else "MAKER",
            "ts_us": row.ts_us, "busted": row.trade_id in busted})
    session.send(protocol.ok(request.id, {
        "account": name, "trades": fills, "next_cursor": str(rows[-1].seq) if more else None}))


async def order_history(venue: Venue, session: Session, request: Request) -> None:
    """The account's finished orders (filled, canceled, rejected, expired), newest first."""
    args = request.args
    name = _account(venue, session, args)
    symbol = protocol.name(args, "sym", None)
    before = _cursor(args)
    limit = protocol.integer(args, "limit", PAGE, low=1, high=PAGE_MAX)

    def read(venue: Venue) -> dict[str, Any]:
        tracker = venue.tracker
        found: list[Any] = []
        for record in reversed(tracker.orders.values()):
            if record.account != name or not record.terminal or record.order_id is None:
                continue
            if (symbol is not None and record.symbol != symbol) or (
                    before is not None and record.order_id >= before):
                continue
            found.append(record)
            if len(found) > limit:
                break
        orders, next_cursor = listing.page(
            [(str(record.order_id), tracker.view(record)) for record in found], limit)
        return {"account": name, "orders": orders, "next_cursor": next_cursor}

    await venue.submit(Job(session, request.id, read, session.origin, query=True))


ACCOUNT_OPS: dict[str, Handler] = {
    "account_status": account_status,
    "my_trades": my_trades,
    "order_history": order_history,
}
