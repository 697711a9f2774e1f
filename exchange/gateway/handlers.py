"""What every op handler shares: the roles, which accounts and orders a session may read, and
how a request's work reaches the engine task.

Authorization: traders act only for their key's account and read only their own firm's
orders and reports; an order of another firm is UNKNOWN_ORDER (nothing leaks). Auditors read
everything and change nothing; operators run the venue.
"""

from __future__ import annotations

from typing import Any

from exchange.gateway import protocol
from exchange.gateway.jobs import Job
from exchange.gateway.orders import OrderRecord
from exchange.gateway.protocol import Code, Request, RequestError
from exchange.gateway.session import Session
from exchange.gateway.venue import Venue

TRADER, OPERATOR, AUDITOR = "trader", "operator", "auditor"
ANYONE = (TRADER, OPERATOR, AUDITOR)
PUBLIC = None  # market data and reference data: before logon too (docs/protocol.md)


async def submit(venue: Venue, session: Session, request: Request, work: Any,
                 query: bool = False, at_seal: bool = False) -> None:
    """Hand the request's work to the engine task as the session's (`Job`); it is answered when
    its batch is durable. Waits only if the engine's queue is full."""
    job = Job(session, request.id, work, session.origin, query, at_seal)
    if not venue.offer(job):  # the queue is full (or the venue stopped): wait for room
        await venue.submit(job)


def readable_account(venue: Venue, session: Session, account: Any) -> str | None:
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


def visible(venue: Venue, session: Session, record: OrderRecord | None) -> OrderRecord:
    """The record if the session may see it, else UNKNOWN_ORDER (nothing leaks)."""
    if record is not None and session.principal.role == TRADER:  # type: ignore[union-attr]
        known = venue.engine.accounts.get(record.account)
        if known is None or known.firm != session.firm:
            record = None
    if record is None:
        raise RequestError(Code.UNKNOWN_ORDER, "no such order")
    return record
