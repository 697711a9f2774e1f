"""What each request does: one handler per `op`, with the roles allowed to call it.

A handler validates and decodes its arguments (protocol.py) before anything reaches the engine:
bad input is answered with a RequestError here and goes no further. Orders and anything that
reads venue state go to the engine task as a `Job` (answered after the batch is durable); session
matters (ping, unsubscribe, the dead-man's switch, keys) are answered at once.

Authorization: traders act only for their key's account and read only their own firm's
orders and reports; an order of another firm is UNKNOWN_ORDER (nothing leaks). Auditors read
everything and change nothing; operators run the venue.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from exchange.engine import SetTradingState
from exchange.gateway import listing, protocol
from exchange.gateway.account import ACCOUNT_OPS
from exchange.gateway.depth import channel_key, parse_depth
from exchange.gateway.history import HISTORY_OPS
from exchange.gateway.keys import Principal
from exchange.gateway.operators import ADMIN_OPS
from exchange.gateway.orders import OrderRecord
from exchange.gateway.protocol import Code, Request, RequestError
from exchange.gateway.schemas import ARGS, UNSET, ReplaceOrderArgs, field_names
from exchange.gateway.session import Session
from exchange.gateway.venue import Job, Venue, now_us

TRADER, OPERATOR, AUDITOR = "trader", "operator", "auditor"
ANYONE = (TRADER, OPERATOR, AUDITOR)
PUBLIC = None  # market data and reference data: before logon too (docs/protocol.md)
MARKET_CHANNELS = ("book", "trades", "bbo", "auction")
CHANNELS_NAMED = "ch must be exec, book, trades, bbo or auction"

Handler = Callable[[Venue, Session, Request], Awaitable[None]]


class Op(NamedTuple):
    """An op: its handler, who may call it, and the argument names it defines (`fields`; a
    request with any other is UNKNOWN_FIELD before the handler runs)."""

    handler: Handler
    roles: tuple[str, ...] | None  # None: allowed before logon
    order_op: bool = False  # counts against the account's order rate limit
    fields: frozenset[str] = frozenset()


async def receive(venue: Venue, session: Session, frame: str | bytes) -> None:
    """Handle one frame: decode, rate-limit, authorize, dispatch. Answers every request."""
    request_id = None
    if session.drain is not None:
        return  # closing for abuse: what was accepted is answered, nothing more is taken
    try:
        request = protocol.decode_frame(frame)
        request_id = request.id
        now = time.monotonic()
        if not session.bucket.take(now):
            _limited(session)
            raise RequestError(Code.RATE_LIMITED, "connection message rate exceeded")
        op = OPS.get(request.op)
        if op is None:
            raise RequestError(Code.UNKNOWN_OP, f"no op {request.op[:64]!r}")
        principal = session.principal
        if op.roles is not None:
            if principal is None:
                raise RequestError(Code.UNAUTHENTICATED, "log on first")
            if principal.role not in op.roles:
                raise RequestError(Code.FORBIDDEN, f"{principal.role} may not {request.op}")
        elif principal is None and not session.may_before_logon(request.op):
            raise RequestError(Code.UNAUTHENTICATED,
                               "public market data is off on this venue: log on first")
        if op.order_op and not venue.account_bucket(principal.account).take(now):  # type: ignore[union-attr,arg-type]
            _limited(session)
            raise RequestError(Code.RATE_LIMITED, "account order rate exceeded")
        session.limited_in_a_row = 0
        if type(request.args) is dict:  # an op without a schema, or a frame its schema refused
            protocol.check_fields(request.args, op.fields)
        await op.handler(venue, session, request)
    except RequestError as exc:
        request_id = getattr(exc, "request_id", request_id)
        session.send(protocol.error(request_id, exc.code, exc.msg))


def _limited(session: Session) -> None:
    session.limited_in_a_row += 1
    if session.limited_in_a_row > session.config.abuse_limit:
        session.close_when_answered(1008, "rate limit abuse")


# -- session -------------------------------------------------------------------------------


async def logon(venue: Venue, session: Session, request: Request) -> None:
    if session.principal is not None:
        raise RequestError(Code.BAD_REQUEST, "already logged on")
    args = request.args
    principal = venue.keys.verify(args.get("api_key"))
    if principal is None:
        raise RequestError(Code.UNAUTHENTICATED, "unknown or revoked API key")
    cancel_on_disconnect = protocol.flag(args, "cancel_on_disconnect")
    firm = None
    if principal.account is not None:
        account = venue.engine.accounts.get(principal.account)
        if account is None:
            raise RequestError(Code.UNAUTHENTICATED, "the key's account does not exist")
        firm = account.firm
    session.principal, session.firm, session.origin = principal, firm, _origin(principal)
    session.cancel_on_disconnect = cancel_on_disconnect and principal.account is not None
    session.send(protocol.ok(request.id, {
        "key_id": principal.key_id, "role": principal.role, "account": principal.account,
        "firm": firm, "cancel_on_disconnect": session.cancel_on_disconnect, "ts_us": now_us(),
    }))


async def ping(venue: Venue, session: Session, request: Request) -> None:
    session.send(protocol.ok(request.id, {"ts_us": now_us()}))


async def cancel_all_after(venue: Venue, session: Session, request: Request) -> None:
    limit = venue.config.max_cancel_all_after_ms
    timeout_ms = protocol.integer(request.args, "timeout_ms", high=limit)
    trigger = venue.arm_deadman(session.account, timeout_ms)  # type: ignore[arg-type]
    session.send(protocol.ok(request.id, {"timeout_ms": timeout_ms, "trigger_at_us": trigger}))


# -- orders --------------------------------------------------------------------------------


def _origin(principal: Principal) -> str:
    """Who the ledger records as the origin of a session's commands."""
    if principal.account is not None:
        return f"account:{principal.account}"
    return f"{principal.role}:{principal.key_id}"


async def _submit(venue: Venue, session: Session, request: Request, work: Any,
                  query: bool = False, at_seal: bool = False) -> None:
    job = Job(session, request.id, work, session.origin, query, at_seal)
    if not venue.offer(job):  # the queue is full (or the venue stopped): wait for room
        await venue.submit(job)


async def new_order(venue: Venue, session: Session, request: Request) -> None:
    account = session.account
    command = protocol.new_order(request.args, account, now_us(), venue.tracker.specs)  # type: ignore[arg-type]

    def work(venue: Venue) -> Any:
        known = venue.tracker.find(account, command.cl_ord_id)  # type: ignore[arg-type]
        if known is None:
            return command
        return _existing(venue, known)

    await _submit(venue, session, request, work)


def _existing(venue: Venue, record: OrderRecord) -> dict[str, Any]:
    """The answer to a resent cl_ord_id: the order's status now, never a second order."""
    if record.reject_reason is not None:
        raise RequestError(record.reject_reason.name,
                           "duplicate cl_ord_id: that order was rejected")
    view = venue.tracker.view(record)
    view["duplicate"] = True
    return view


def _resolve(venue: Venue, account: str, order_id: int | None,
             cl_ord_id: str | None) -> OrderRecord:
    """The account's own order named by id or cl_ord_id (engine task only)."""
    tracker = venue.tracker
    record = tracker.owned(account, order_id) if order_id is not None else tracker.find(
        account, cl_ord_id)  # type: ignore[arg-type]
    if record is None or record.order_id is None:
        raise RequestError(Code.UNKNOWN_ORDER, "no such order")
    if record.terminal:
        raise RequestError(Code.TOO_LATE_TO_CANCEL, f"order is {record.status}")
    return record


async def cancel_order(venue: Venue, session: Session, request: Request) -> None:
    account = session.account
    order_id, cl_ord_id = protocol.order_ref(request.args)
    ts_us = now_us()

    def work(venue: Venue) -> Any:
        if order_id is not None and venue.tracker.owned(account, order_id) is None:  # type: ignore[arg-type]
            return protocol.cancel_order(order_id, account, ts_us)  # type: ignore[arg-type]
        record = _resolve(venue, account, order_id, cl_ord_id)  # type: ignore[arg-type]
        return protocol.cancel_order(record.order_id, account, ts_us)  # type: ignore[arg-type]

    await _submit(venue, session, request, work)


async def replace_order(venue: Venue, session: Session, request: Request) -> None:
    account = session.account
    args = protocol.as_args(ReplaceOrderArgs, request.args)
    order_id, cl_ord_id = protocol.order_ref_of(args.order_id, args.orig_cl_ord_id, UNSET)
    new_id = protocol.name_of(args.cl_ord_id, "cl_ord_id", None)
    protocol.quantity_of(args.qty, "qty")  # the format now, the price once the order is known
    ts_us = now_us()

    def work(venue: Venue) -> Any:
        tracker = venue.tracker
        if new_id is not None:
            known = tracker.find(account, new_id)  # type: ignore[arg-type]
            if known is not None:
                if order_id in (None, known.order_id) and cl_ord_id in (None, known.cl_ord_id) \
                        or cl_ord_id is not None and tracker.find(account, cl_ord_id) is known:  # type: ignore[arg-type]
                    return _existing(venue, known)
                raise RequestError(Code.DUPLICATE_ORDER, f"cl_ord_id {new_id!r} is taken")
        record = _resolve(venue, account, order_id, cl_ord_id)  # type: ignore[arg-type]
        decimals = tracker.specs[record.symbol].price_decimals
        return protocol.replace_order(args, record.order_id, account, ts_us, decimals)  # type: ignore[arg-type]

    await _submit(venue, session, request, work)


async def mass_cancel(venue: Venue, session: Session, request: Request) -> None:
    command = protocol.mass_cancel(request.args, session.account, now_us(),  # type: ignore[arg-type]
                                   venue.tracker.specs)
    await _submit(venue, session, request, command)


# -- reading -------------------------------------------------------------------------------


def _readable_account(venue: Venue, session: Session, account: Any) -> str | None:
    """The account a read names: a trader's own by default, or another of the same firm;
    auditors and operators any (None: all)."""
    principal = session.principal
    assert principal is not None
    if account is not None:
        account = protocol.name({"account": account}, "account")
    if principal.role != TRADER:
        return account  # type: ignore[no-any-return]
    if account is None:
        return principal.account
    known = venue.engine.accounts.get(account)
    if known is None or known.firm != session.firm:
        raise RequestError(Code.FORBIDDEN, "not an account of your firm")
    return account  # type: ignore[no-any-return]


def _visible(venue: Venue, session: Session, record: OrderRecord | None) -> OrderRecord:
    if record is not None and session.principal.role == TRADER:  # type: ignore[union-attr]
        known = venue.engine.accounts.get(record.account)
        if known is None or known.firm != session.firm:
            record = None
    if record is None:
        raise RequestError(Code.UNKNOWN_ORDER, "no such order")
    return record


async def order_status(venue: Venue, session: Session, request: Request) -> None:
    args = request.args
    order_id, cl_ord_id = protocol.order_ref(args)
    account = _readable_account(venue, session, args.get("account"))

    def work(venue: Venue) -> Any:
        tracker = venue.tracker
        if order_id is not None:
            record = tracker.orders.get(order_id)
            if record is not None and "account" in args and record.account != account:
                record = None
        elif account is None:
            raise RequestError(Code.BAD_REQUEST, "account is required with cl_ord_id")
        else:
            record = tracker.find(account, cl_ord_id)  # type: ignore[arg-type]
        return tracker.view(_visible(venue, session, record))

    await _submit(venue, session, request, work, query=True)


async def open_orders(venue: Venue, session: Session, request: Request) -> None:
    args = request.args
    account = _readable_account(venue, session, args.get("account"))
    symbol = protocol.name(args, "sym", None)

    def work(venue: Venue) -> Any:
        tracker = venue.tracker
        books = [tracker.open_orders.get(account, {})] if account else list(
            tracker.open_orders.values())
        orders = [tracker.view(record) for live in books for record in live.values()
                  if symbol is None or record.symbol == symbol]
        return {"orders": orders}

    await _submit(venue, session, request, work, query=True)


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

    def work(venue: Venue) -> Any:
        # the state now is what the client gets when this batch is durable; it joins the
        # stream then, so the next delta it sees continues this snapshot's seq
        market = venue.market
        feed = market.feeds[symbol]
        seq = feed.seq
        if depth is not None:
            view = venue.depth.view(symbol, depth, feed.book)
            message: dict[str, Any] | None = view.snapshot(symbol, feed.ts_us)
            seq = view.seq
        else:
            first = {"book": market.snapshot, "bbo": market.bbo,
                     "auction": market.auction_snapshot}.get(channel)
            message = None if first is None else first(symbol)

        def after() -> None:
            venue.subscribe_market(session, key, symbol)
            if message is not None:
                session.send(message)
        answer = {"ch": channel, "sym": symbol, "seq": seq}
        return (answer if depth is None else {**answer, "depth": depth}), after

    await _submit(venue, session, request, work, query=True, at_seal=True)


async def _subscribe_exec(venue: Venue, session: Session, request: Request) -> None:
    args = request.args
    wanted = args.get("account")
    account: str | None = None
    if session.principal is None:  # market data is public; execution reports are not
        raise RequestError(Code.UNAUTHENTICATED, "log on first")
    if wanted == "*" and session.principal.role != TRADER:  # type: ignore[union-attr]
        account = "*"
    else:
        account = _readable_account(venue, session, wanted)
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
            kept = venue.kept_reports(account, resume, last)  # type: ignore[arg-type]
            if kept is None:  # further back than the venue keeps: re-derive from the ledger
                asyncio.get_running_loop().create_task(
                    _catch_up(venue, session, account, resume, last, upto_seq))
                return
            session.exec_backlog = None
            for report in kept:
                session.send(report)
        return {"ch": "exec", "account": account, "exec_seq": last}, after

    await _submit(venue, session, request, work, query=True, at_seal=True)


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


# -- operators -----------------------------------------------------------------------------


async def set_trading_state(venue: Venue, session: Session, request: Request) -> None:
    args = request.args
    symbol = protocol.spec_for(venue.tracker.specs, args).symbol
    command = SetTradingState(now_us(), symbol, protocol.trading_state(args))
    await _submit(venue, session, request, command)


fields = protocol.fields
ORDER_FIELDS = fields("cl_ord_id", "sym", "side", "qty", "px", "ord_type", "tif", "expire_at_us",
                      "post_only", "display_qty", "stp")
ORDER_REF = ("order_id", "orig_cl_ord_id", "cl_ord_id")

# Each op names the argument fields it defines: any other is UNKNOWN_FIELD (docs/protocol.md).
OPS: dict[str, Op] = {
    "logon": Op(logon, None, fields=fields("api_key", "cancel_on_disconnect")),
    "ping": Op(ping, None),
    "instruments": Op(listing.instruments, PUBLIC, fields=fields(  # filtered, paged (listing.py)
        *(arg for arg, _ in listing.EXACT), "prefix", "search", "sym", "limit", "cursor")),
    "new_order": Op(new_order, (TRADER,), order_op=True, fields=ORDER_FIELDS),
    "cancel_order": Op(cancel_order, (TRADER,), order_op=True, fields=fields(*ORDER_REF)),
    "replace_order": Op(replace_order, (TRADER,), order_op=True,
                        fields=fields(*ORDER_REF, "qty", "px")),
    "mass_cancel": Op(mass_cancel, (TRADER,), order_op=True, fields=fields("sym", "side")),
    "cancel_all_after": Op(cancel_all_after, (TRADER,), fields=fields("timeout_ms")),
    "order_status": Op(order_status, ANYONE, fields=fields(*ORDER_REF, "account")),
    "open_orders": Op(open_orders, ANYONE, fields=fields("sym", "account")),
    "subscribe": Op(subscribe, PUBLIC,  # exec needs a logon (_subscribe_exec)
                    fields=fields("ch", "sym", "depth", "account", "resume_from_exec_seq")),
    "unsubscribe": Op(unsubscribe, PUBLIC, fields=fields("ch", "sym", "depth")),
    "set_trading_state": Op(set_trading_state, (OPERATOR,), fields=fields("sym", "state")),
}
OPS.update({name: Op(*op) for name, op in ADMIN_OPS.items()})  # operators (operators/)
HISTORY_FIELDS = {
    "trades_history": fields("sym", "since_us", "cursor", "limit"),
    "candles": fields("sym", "interval", "since_us", "until_us", "limit"),
    "ticker": fields("sym"),
}
OPS.update({name: Op(handler, PUBLIC, fields=HISTORY_FIELDS[name])  # history.py
            for name, handler in HISTORY_OPS.items()})
ACCOUNT_FIELDS = {
    "account_status": fields("account"),
    "my_trades": fields("account", "sym", "since_us", "cursor", "limit"),
    "order_history": fields("account", "sym", "cursor", "limit"),
}
OPS.update({name: Op(handler, ANYONE, fields=ACCOUNT_FIELDS[name])  # account.py
            for name, handler in ACCOUNT_OPS.items()})

# an op with a schema (schemas.ARGS) defines exactly its Struct's fields
assert all(OPS[op].fields == field_names(schema) for op, schema in ARGS.items())
