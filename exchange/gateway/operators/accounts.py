"""Operator ops on firms and accounts: add, limits, credit limits, list and show."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from exchange.engine import (
    AddAccount,
    SetAccountLimits,
    SetCreditLimit,
)
from exchange.engine.instrument import (
    Account,
    Firm,
    Instrument,
)
from exchange.gateway import protocol
from exchange.gateway.jobs import now_us
from exchange.gateway.operators.base import (
    _account,
    _command,
    _count,
    _firm,
    _limit,
    _money,
    _money_view,
    _query,
)
from exchange.gateway.protocol import Request
from exchange.gateway.session import Session
from exchange.gateway.venue import Venue


def _limits(args: dict[str, Any], account: Account | None) -> tuple[Any, Any, Any]:
    """(max_order_qty, max_order_notional, max_open_orders): given ones ("none" removes),
    the account's own for the rest (None for a new account)."""
    parsers: dict[str, Callable[..., Any]] = {
        "max_order_qty": _count, "max_order_notional": _money, "max_open_orders": _count}
    values = []
    for key, parse in parsers.items():
        if key in args:
            values.append(parse(args, key, none_ok=True))
        else:
            values.append(None if account is None else getattr(account, key))
    return tuple(values)  # type: ignore[return-value]


async def add_account(venue: Venue, session: Session, request: Request) -> None:
    args = request.args
    account = protocol.name(args, "account")
    firm = protocol.name(args, "firm")
    command = AddAccount(now_us(), account, firm, *_limits(args, None))

    def make(venue: Venue, extra: dict[str, Any]) -> Any:
        extra.update(account=account, firm=firm, new_firm=firm not in venue.engine.firms)
        return command

    await _command(venue, session, request, make)


async def set_account_limits(venue: Venue, session: Session, request: Request) -> None:
    args = request.args
    name = protocol.name(args, "account")
    _limits(args, None)  # formats now, before the engine task

    def make(venue: Venue, extra: dict[str, Any]) -> Any:
        account = _account(venue, name)
        extra["account"] = name
        return SetAccountLimits(now_us(), name, *_limits(args, account))

    await _command(venue, session, request, make)


async def set_credit_limit(venue: Venue, session: Session, request: Request) -> None:
    args = request.args
    firm = protocol.name(args, "firm")
    limit = _money(args, "credit_limit", none_ok=True)
    command = SetCreditLimit(now_us(), firm, limit)

    def make(venue: Venue, extra: dict[str, Any]) -> Any:
        extra.update(firm=firm, credit_limit=_money_view(limit))
        return command

    await _command(venue, session, request, make)


def firm_view(firm: Firm, instruments: dict[str, Instrument]) -> dict[str, Any]:
    return {
        "firm": firm.name, "accounts": [account.account for account in firm.accounts],
        "credit_limit": _money_view(firm.credit_limit),
        "net_bought": _money_view(firm.net_bought),
        "open_buy_notional": _money_view(firm.open_buy_notional(instruments)),
        "blocked": firm.blocked,
    }


def account_view(account: Account) -> dict[str, Any]:
    return {
        "account": account.account, "firm": account.firm,
        "max_order_qty": _limit(account.max_order_qty),
        "max_order_notional": _money_view(account.max_order_notional),
        "max_open_orders": _limit(account.max_open_orders),
        "open_orders": len(account.open_orders), "blocked": account.blocked,
    }


async def list_firms(venue: Venue, session: Session, request: Request) -> None:
    await _query(venue, session, request, lambda venue: {
        "firms": [firm_view(firm, venue.engine.instruments)
                  for firm in venue.engine.firms.values()]})


async def show_firm(venue: Venue, session: Session, request: Request) -> None:
    name = protocol.name(request.args, "firm")

    def read(venue: Venue) -> dict[str, Any]:
        firm = _firm(venue, name)
        view = firm_view(firm, venue.engine.instruments)
        view["accounts"] = [account_view(account) for account in firm.accounts]
        return view

    await _query(venue, session, request, read)


async def list_accounts(venue: Venue, session: Session, request: Request) -> None:
    firm_name = protocol.name(request.args, "firm", None)

    def read(venue: Venue) -> dict[str, Any]:
        accounts = (venue.engine.accounts.values() if firm_name is None
                    else _firm(venue, firm_name).accounts)
        return {"accounts": [account_view(account) for account in accounts]}

    await _query(venue, session, request, read)


async def show_account(venue: Venue, session: Session, request: Request) -> None:
    name = protocol.name(request.args, "account")

    def read(venue: Venue) -> dict[str, Any]:
        account = _account(venue, name)
        view = account_view(account)
        firm = venue.engine.firms[account.firm]
        view.update(firm_blocked=firm.blocked, firm_credit_limit=_money_view(firm.credit_limit),
                    exec_seq=venue.tracker.exec_seq.get(name, 0))
        return view

    await _query(venue, session, request, read)
