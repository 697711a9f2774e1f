"""What every operator op shares: the op shape, sending a command or a query through the
engine task, argument conversion, and the operators' logon."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from exchange.engine.instrument import (
    NOTIONAL_DECIMALS,
    Account,
    Firm,
    format_price,
    parse_price,
)
from exchange.gateway import protocol
from exchange.gateway.jobs import Job
from exchange.gateway.protocol import Code, Request, RequestError
from exchange.gateway.session import Session
from exchange.gateway.venue import Venue

OPERATOR = "operator"
MAX_IMPORT_ROWS = 1_000_000
MAX_LIST = 10_000
DEFAULT_LIST = 1_000

Handler = Callable[[Venue, Session, Request], Awaitable[None]]


class Op(NamedTuple):
    """The shape of `ops.Op` (operators cannot import ops, which imports them)."""

    handler: Handler
    roles: tuple[str, ...] | None = (OPERATOR,)
    order_op: bool = False
    fields: frozenset[str] = frozenset()  # the argument names it defines


# -- sending commands --------------------------------------------------------------------------


class _Answer:
    """Stands in for the session as a Job's reply target, adding `extra` to a success result
    and then running `after` (the reply is sent once the command is durable)."""

    def __init__(self, session: Session, extra: dict[str, Any],
                 after: Callable[[], None] | None = None) -> None:
        self.session = session
        self.extra = extra
        self.after = after

    def send(self, reply: dict[str, Any]) -> None:
        if reply.get("ok"):
            reply = {**reply, "result": {**reply["result"], **self.extra}}
        self.session.send(reply)
        if reply.get("ok") and self.after is not None:
            self.after()


def origin(session: Session) -> str:
    principal = session.principal
    assert principal is not None
    return f"{OPERATOR}:{principal.key_id}"


async def _command(venue: Venue, session: Session, request: Request,
                   make: Callable[[Venue, dict[str, Any]], Any],
                   after: Callable[[], None] | None = None) -> None:
    """Send the command `make(venue, extra)` returns, built in the engine task (so it sees the
    state it will apply to); `make` may put more into the answer through `extra`, or raise
    RequestError to answer without a command. `after` runs once a success is answered."""
    extra: dict[str, Any] = {}
    answer = _Answer(session, extra, after)
    await venue.submit(Job(answer, request.id, lambda v: make(v, extra),  # type: ignore[arg-type]
                           origin(session)))


async def _query(venue: Venue, session: Session, request: Request,
                 read: Callable[[Venue], dict[str, Any]]) -> None:
    await venue.submit(Job(session, request.id, read, origin(session), query=True))


# -- arguments -------------------------------------------------------------------------------


def _count(args: dict[str, Any], key: str, default: Any = ..., none_ok: bool = False) -> Any:
    """A whole number sent as a string of digits; "none" (if allowed) is None."""
    value = args.get(key, default)
    if value is ...:
        raise RequestError(Code.BAD_REQUEST, f"{key} is required")
    if value is default or (none_ok and value == "none"):
        return None if value == "none" else value
    return protocol.whole_number(value, key)


def _money(args: dict[str, Any], key: str, none_ok: bool = False) -> int | None:
    """An amount of the currency sent as a decimal string with up to NOTIONAL_DECIMALS places
    ("2000000.00"), in the engine's 10**-6 units, exactly; "none" (if allowed) is None."""
    value = args.get(key, ...)
    if value is ...:
        raise RequestError(Code.BAD_REQUEST, f"{key} is required")
    if none_ok and value == "none":
        return None
    try:
        return parse_price(value, NOTIONAL_DECIMALS)
    except ValueError:
        raise RequestError(Code.BAD_REQUEST, f"{key} must be a decimal amount with at most "
                                             f"{NOTIONAL_DECIMALS} decimals") from None


def _instrument(venue: Venue, args: dict[str, Any]) -> Any:
    symbol = protocol.name(args, "sym")
    instrument = venue.engine.instruments.get(symbol)
    if instrument is None:
        raise RequestError(Code.UNKNOWN_INSTRUMENT, f"no instrument {symbol!r}")
    return instrument


def _firm(venue: Venue, name: str) -> Firm:
    firm = venue.engine.firms.get(name)
    if firm is None:
        raise RequestError("UNKNOWN_FIRM", f"no firm {name!r}")
    return firm


def _account(venue: Venue, name: str) -> Account:
    account = venue.engine.accounts.get(name)
    if account is None:
        raise RequestError("UNKNOWN_ACCOUNT", f"no account {name!r}")
    return account


def _limit(value: int | None) -> str | None:
    return None if value is None else str(value)


def _money_view(value: int | None) -> str | None:
    return None if value is None else format_price(value, NOTIONAL_DECIMALS)


# -- session -----------------------------------------------------------------------------------


async def logon(venue: Venue, session: Session, request: Request) -> None:
    """The gateway's logon, refusing operator keys from outside the operator networks."""
    principal = venue.keys.verify(request.args.get("api_key"))
    if principal is not None and principal.role == OPERATOR and session.principal is None:
        peer = session.ws.remote_address
        if not _operator_network(peer[0] if peer else None, venue.config.operator_networks):
            raise RequestError(Code.FORBIDDEN, "operator keys may not log on from this address")
    from exchange.gateway import ops  # ops imports the operators package

    await ops.logon(venue, session, request)


def _operator_network(host: str | None, networks: tuple[str, ...]) -> bool:
    if host is None:
        return False
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in networks)
