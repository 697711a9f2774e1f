"""What each request does: one handler per `op`, with the roles allowed to call it (`OPS`), and
`receive`, which takes one frame to its handler.

A handler validates and decodes its arguments (protocol.py) before anything reaches the engine:
bad input is answered with a RequestError here and goes no further. Orders and anything that
reads venue state go to the engine task as a `Job` (answered after the batch is durable); session
matters (ping, unsubscribe, the dead-man's switch, keys) are answered at once. The handlers live
by topic: order_ops.py (orders and reading them), streams.py (subscriptions), the session ops
here, operators/, history.py, account.py; who may read what is handlers.py.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import NamedTuple

from exchange.engine import SetTradingState
from exchange.gateway import listing, protocol
from exchange.gateway.account import ACCOUNT_OPS
from exchange.gateway.handlers import ANYONE, AUDITOR, OPERATOR, PUBLIC, TRADER, submit
from exchange.gateway.history import HISTORY_OPS
from exchange.gateway.jobs import now_us
from exchange.gateway.keys import Principal
from exchange.gateway.operators import ADMIN_OPS
from exchange.gateway.order_ops import (
    cancel_order,
    mass_cancel,
    new_order,
    open_orders,
    order_status,
    replace_order,
)
from exchange.gateway.protocol import Code, Request, RequestError
from exchange.gateway.schemas import ARGS, field_names
from exchange.gateway.session import Session
from exchange.gateway.streams import MARKET_CHANNELS, subscribe, unsubscribe
from exchange.gateway.venue import Venue

__all__ = ["ANYONE", "AUDITOR", "MARKET_CHANNELS", "OPERATOR", "OPS", "PUBLIC", "TRADER", "Op",
           "receive"]

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
        refused = venue.not_served.get(request.op)
        if refused is not None:
            raise RequestError(Code.NOT_SUPPORTED, f"{request.op}: {refused}")
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


# -- operators -----------------------------------------------------------------------------


def _origin(principal: Principal) -> str:
    """Who the ledger records as the origin of a session's commands."""
    if principal.account is not None:
        return f"account:{principal.account}"
    return f"{principal.role}:{principal.key_id}"


async def set_trading_state(venue: Venue, session: Session, request: Request) -> None:
    args = request.args
    symbol = protocol.spec_for(venue.tracker.specs, args).symbol
    command = SetTradingState(now_us(), symbol, protocol.trading_state(args))
    await submit(venue, session, request, command)


fields = protocol.fields
ORDER_FIELDS = fields("cl_ord_id", "sym", "side", "qty", "px", "ord_type", "tif", "expire_at_us",
                      "post_only", "display_qty", "stp", "stop_px")
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
    "open_orders": Op(open_orders, ANYONE, fields=fields("sym", "account", "limit", "cursor")),
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
