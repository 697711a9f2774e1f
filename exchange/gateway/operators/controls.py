"""Operator controls: API keys, kill switches, the trading day, trade busts."""

from __future__ import annotations

from typing import Any

from exchange.engine import (
    BustTrade,
    RevokeKey,
    SetKillSwitch,
    StartTradingDay,
)
from exchange.engine.instrument import (
    format_price,
)
from exchange.gateway import protocol
from exchange.gateway.jobs import now_us
from exchange.gateway.keys import ROLES, new_key
from exchange.gateway.operators.base import (
    _command,
    _count,
    _query,
)
from exchange.gateway.protocol import Code, Request, RequestError
from exchange.gateway.session import Session
from exchange.gateway.venue import Venue

# -- API keys ----------------------------------------------------------------------------------


async def issue_key(venue: Venue, session: Session, request: Request) -> None:
    """A new key, recorded by the engine (its salted hash, never the secret); the secret is in
    this answer only."""
    args = request.args
    role = args.get("role")
    account = protocol.name(args, "account", None)
    if role not in ROLES:
        raise RequestError(Code.BAD_REQUEST, f"role must be one of {', '.join(ROLES)}")
    if (role == "trader") != (account is not None):
        raise RequestError(Code.BAD_REQUEST, "a trader key needs an account, other roles none")
    command, api_key = new_key(now_us(), role, account)

    def make(venue: Venue, extra: dict[str, Any]) -> Any:
        extra.update(key_id=command.key_id, api_key=api_key)
        return command

    await _command(venue, session, request, make)


async def revoke_key(venue: Venue, session: Session, request: Request) -> None:
    """Revoke a key: refused from now on, and its connections closed once that is durable."""
    key_id = protocol.name(request.args, "key_id")

    def make(venue: Venue, extra: dict[str, Any]) -> Any:
        extra.update(key_id=key_id, revoked=True)
        return RevokeKey(now_us(), key_id)

    def disconnect() -> None:
        for other in list(venue.sessions):
            if other.principal is not None and other.principal.key_id == key_id:
                other.close(1008, "API key revoked")

    await _command(venue, session, request, make, disconnect)


async def list_keys(venue: Venue, session: Session, request: Request) -> None:
    await _query(venue, session, request, lambda venue: {"keys": venue.keys.list()})


# -- kill switch, busts ------------------------------------------------------------------------


async def set_kill_switch(venue: Venue, session: Session, request: Request) -> None:
    args = request.args
    scope = args.get("scope")
    if scope not in ("firm", "account"):
        raise RequestError(Code.BAD_REQUEST, "scope must be firm or account")
    name = protocol.name(args, "name")
    engaged = protocol.flag(args, "engaged", True)

    def make(venue: Venue, extra: dict[str, Any]) -> Any:
        engine = venue.engine
        if scope == "account":
            holders = [engine.accounts[name]] if name in engine.accounts else []
        else:
            holders = engine.firms[name].accounts if name in engine.firms else []
        live = sum(len(account.open_orders) for account in holders) if engaged else 0
        extra.update(scope=scope, name=name, engaged=engaged, canceled=live)
        return SetKillSwitch(now_us(), scope, name, engaged)

    await _command(venue, session, request, make)


async def start_trading_day(venue: Venue, session: Session, request: Request) -> None:
    """A new trading day: firms' net bought starts again at zero (credit limits are per day),
    and the previous day's trades can no longer be busted."""

    def make(venue: Venue, extra: dict[str, Any]) -> Any:
        extra["trades_closed"] = len(venue.engine.day_trades)
        return StartTradingDay(now_us())

    await _command(venue, session, request, make)


async def bust_trade(venue: Venue, session: Session, request: Request) -> None:
    args = request.args
    trade_id = _count(args, "trade_id")
    reason = args.get("reason")
    if type(reason) is not str or not 0 < len(reason) <= 200 or not reason.isprintable():
        raise RequestError(Code.BAD_REQUEST, "reason: 1-200 printable characters")

    def make(venue: Venue, extra: dict[str, Any]) -> Any:
        trade = venue.engine.day_trades.get(trade_id)
        extra["trade_id"] = str(trade_id)
        if trade is not None:
            symbol, price, qty, buyer, seller = trade
            decimals = venue.engine.instruments[symbol].spec.price_decimals
            extra.update(sym=symbol, px=format_price(price, decimals), qty=str(qty),
                         buy_account=buyer, sell_account=seller)
        return BustTrade(now_us(), trade_id, reason)

    await _command(venue, session, request, make)
