"""The operators' ops: reference data, trading states, firms and accounts, limits, API keys, kill
switches, busts, and read-only views of books, orders, trades and the venue's health.

Every op that changes the venue becomes one engine command sent through the engine task like an
order (`Venue.submit`): it is sequenced, recorded in the ledger with the origin
`operator:<key_id>`, and answered only after its batch is durable; a command the engine refuses
is recorded too (CommandRejected) and answered with the engine's reason. Arguments are checked
and converted here first (decimal strings to integers, as for orders), so nothing malformed
reaches the engine. Money (account notional limits, credit limits, a firm's net bought and open
buy notional) travels as decimal strings of the venue currency with up to NOTIONAL_DECIMALS
places ("2000000.00"), converted exactly to the engine's 10**-6 units. Reads are query jobs,
answered from the engine task's state after the batch in flight is durable; `list_trades` reads the ledger's trade table; `stats` reads counters.

A bulk listing arrives in chunks (a frame is at most `max_frame_bytes`): `import_instruments`
with `more: true` stages rows on the session under the client's `import_id`, and the last chunk
commits all of them as one `ImportInstruments` command, which the engine takes all or none. A
bad row discards the whole import (later chunks of it are refused), so a partial listing can
never be committed. Staged rows die with the session.

Access: every op here is for the operator role (ops.receive checks it), and `logon` refuses an
operator key from outside `GatewayConfig.operator_networks` (loopback by default).
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NamedTuple

from exchange.engine import (
    AddAccount,
    AddInstrument,
    BustTrade,
    ImportInstruments,
    RevokeKey,
    SetAccountLimits,
    SetCreditLimit,
    SetKillSwitch,
    SetPriceBand,
    StartTradingDay,
    TradingState,
)
from exchange.engine.instrument import (
    NOTIONAL_DECIMALS,
    Account,
    Firm,
    Instrument,
    format_price,
    parse_price,
)
from exchange.engine.reasons import Reject
from exchange.gateway import protocol
from exchange.gateway.keys import ROLES, new_key
from exchange.gateway.protocol import Code, Request, RequestError
from exchange.gateway.reference import COLUMNS, engine_row, instrument_view
from exchange.gateway.session import Session
from exchange.gateway.venue import Job, Venue, now_us
from exchange.ledger.reader import connect as connect_ledger

OPERATOR = "operator"
MAX_IMPORT_ROWS = 1_000_000
MAX_LIST = 10_000
DEFAULT_LIST = 1_000

Handler = Callable[[Venue, Session, Request], Awaitable[None]]


class Op(NamedTuple):
    """The shape of `ops.Op` (admin cannot import ops, which imports admin)."""

    handler: Handler
    roles: tuple[str, ...] | None = (OPERATOR,)
    order_op: bool = False


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
    if type(value) is not str or not value.isdigit() or len(value) > 18:
        raise RequestError(Code.BAD_REQUEST, f"{key} must be a string of digits")
    return int(value)


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
    from exchange.gateway import ops  # ops imports this module

    await ops.logon(venue, session, request)


def _operator_network(host: str | None, networks: tuple[str, ...]) -> bool:
    if host is None:
        return False
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in networks)


# -- instruments -----------------------------------------------------------------------------


def _wire_row(args: dict[str, Any]) -> list[Any]:
    return [args.get("sym" if column == "symbol" else column) for column in COLUMNS]


def _row_fields(row: Any, where: str) -> list[Any]:
    try:
        return engine_row(row)
    except ValueError as exc:
        raise RequestError(Code.BAD_REQUEST, f"{where}{exc}") from None


async def add_instrument(venue: Venue, session: Session, request: Request) -> None:
    args = request.args
    fields = _row_fields(_wire_row(args), "")
    state = protocol.choice(args, "state", TradingState, TradingState.OPEN)
    command = AddInstrument(now_us(), *fields)._replace(state=state)

    def make(venue: Venue, extra: dict[str, Any]) -> Any:
        extra["sym"] = command.symbol
        return command

    await _command(venue, session, request, make)


class _Staged:
    __slots__ = ("failed", "import_id", "rows", "symbols")

    def __init__(self, import_id: str) -> None:
        self.import_id = import_id
        self.rows: list[list[Any]] = []
        self.symbols: dict[str, int] = {}  # symbol -> its row (1-based)
        self.failed = False


_staged: weakref.WeakKeyDictionary[Session, _Staged] = weakref.WeakKeyDictionary()


async def import_instruments(venue: Venue, session: Session, request: Request) -> None:
    """Stage a chunk of rows (`more: true`) or commit the import with its last chunk."""
    args = request.args
    import_id = protocol.name(args, "import_id")
    rows = args.get("rows", [])
    more = protocol.flag(args, "more")
    staged = _staged.get(session)
    if staged is None or staged.import_id != import_id:
        staged = _staged[session] = _Staged(import_id)
    if staged.failed:
        raise RequestError(Code.BAD_REQUEST, f"import {import_id!r} already failed")
    try:
        _stage(staged, rows, venue.engine.instruments)
    except RequestError:
        staged.failed, staged.rows = True, []
        raise
    if more:
        session.send(protocol.ok(request.id, {"import_id": import_id, "staged": len(staged.rows)}))
        return
    del _staged[session]
    total = _count(args, "total", None)
    if total is not None and total != len(staged.rows):
        raise RequestError(Code.BAD_REQUEST, f"import {import_id!r}: {len(staged.rows)} rows "
                                             f"arrived, total says {total}")
    command = ImportInstruments(now_us(), staged.rows)

    def make(venue: Venue, extra: dict[str, Any]) -> Any:
        extra.update(import_id=import_id, imported=len(command.rows))
        return command

    await _command(venue, session, request, make)


def _stage(staged: _Staged, rows: Any, listed: Mapping[str, Any]) -> None:
    """Convert and check a chunk's rows as they arrive; a symbol twice in the import, or one
    already listed, is named now (the engine would refuse the whole import at the commit)."""
    if type(rows) is not list:
        raise RequestError(Code.BAD_REQUEST, "rows must be a list")
    start = len(staged.rows)
    if start + len(rows) > MAX_IMPORT_ROWS:
        raise RequestError(Code.BAD_REQUEST, f"an import holds at most {MAX_IMPORT_ROWS} rows")
    append, symbols = staged.rows.append, staged.symbols
    for number, row in enumerate(rows, start + 1):
        fields = _row_fields(row, f"row {number}: ")
        symbol = fields[0]
        if symbol in symbols or symbol in listed:
            why = f"is also on row {symbols[symbol]}" if symbol in symbols else "is listed already"
            raise RequestError(Reject.DUPLICATE_INSTRUMENT.name,
                               f"row {number}: symbol: {symbol!r} {why}")
        symbols[symbol] = number
        append(fields)


def _matches(view: dict[str, Any], filters: dict[str, str]) -> bool:
    return all(view[key].casefold() == wanted for key, wanted in filters.items())


async def list_instruments(venue: Venue, session: Session, request: Request) -> None:
    args = request.args
    filters = {key: protocol.name(args, arg).casefold() for key, arg in (
        ("commodity", "commodity"), ("location", "location"),
        ("delivery_period", "period"), ("state", "state")) if args.get(arg) is not None}
    limit = protocol.integer(args, "limit", DEFAULT_LIST, low=1, high=MAX_LIST)
    offset = protocol.integer(args, "offset", 0)

    def read(venue: Venue) -> dict[str, Any]:
        found, total = [], 0
        for instrument in venue.engine.instruments.values():
            view = instrument_view(instrument)
            if not _matches(view, filters):
                continue
            if offset <= total < offset + limit:
                found.append(view)
            total += 1
        return {"instruments": found, "total": total, "offset": offset}

    await _query(venue, session, request, read)


async def show_instrument(venue: Venue, session: Session, request: Request) -> None:
    args = request.args

    def read(venue: Venue) -> dict[str, Any]:
        instrument = _instrument(venue, args)
        view = instrument_view(instrument)
        book = venue.engine.books[instrument.symbol]
        decimals = instrument.spec.price_decimals
        for side, ladder in (("bid", book.bids), ("ask", book.asks)):
            best = ladder.best()
            view[f"best_{side}_px"] = None if best is None else format_price(best.price, decimals)
            view[f"best_{side}_qty"] = None if best is None else str(best.total)
            view[f"{side}_levels"] = len(ladder.levels)
        view["resting_orders"] = sum(1 for _ in book.orders())
        return view

    await _query(venue, session, request, read)


async def set_price_band(venue: Venue, session: Session, request: Request) -> None:
    """Set the reference price and/or the band (in ticks); absent fields keep their value;
    `clear: true` removes the band."""
    args = request.args
    clear = protocol.flag(args, "clear")
    band = _count(args, "band_ticks", None)
    if clear and band is not None:
        raise RequestError(Code.BAD_REQUEST, "band_ticks and clear exclude each other")

    def make(venue: Venue, extra: dict[str, Any]) -> Any:
        instrument = _instrument(venue, args)
        decimals = instrument.spec.price_decimals
        reference = protocol.price(args, "reference_px", decimals, required=False)
        if reference is None:
            reference = instrument.reference_price
        ticks = None if clear else instrument.band_ticks if band is None else band
        extra["sym"] = instrument.symbol
        return SetPriceBand(now_us(), instrument.symbol, reference, ticks)

    await _command(venue, session, request, make)


# -- firms and accounts ----------------------------------------------------------------------


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


# -- views -----------------------------------------------------------------------------------


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
        return {"orders": views[:limit], "total": len(views)}

    await _query(venue, session, request, read)


async def list_trades(venue: Venue, session: Session, request: Request) -> None:
    """Trades from the ledger's trade table (durable by definition), oldest first."""
    args = request.args
    symbol = protocol.name(args, "sym", None)
    if symbol is not None and symbol not in venue.engine.instruments:
        raise RequestError(Code.UNKNOWN_INSTRUMENT, f"no instrument {symbol!r}")
    since_us = protocol.integer(args, "since_us", 0)
    limit = protocol.integer(args, "limit", DEFAULT_LIST, low=1, high=MAX_LIST)
    rows = await asyncio.to_thread(_read_trades, venue.ledger.path, symbol, since_us, limit)
    busted = venue.engine.busted
    specs = venue.engine.instruments
    trades = []
    for trade_id, seq, ts_us, sym, price, qty, aggressor, buyer, seller in rows:
        decimals = specs[sym].spec.price_decimals
        trades.append({"trade_id": str(trade_id), "seq": seq, "ts_us": ts_us, "sym": sym,
                       "px": format_price(price, decimals), "qty": str(qty),
                       "aggressor_side": aggressor, "buy_account": buyer,
                       "sell_account": seller, "busted": trade_id in busted})
    session.send(protocol.ok(request.id, {"trades": trades}))


def _read_trades(path: Any, symbol: str | None, since_us: int, limit: int) -> list[tuple]:
    sql = ("SELECT trade_id, seq, ts_us, symbol, price, qty, aggressor_side, buyer_account, "
           "seller_account FROM trades WHERE ts_us >= ?")
    params: list[Any] = [since_us]
    if symbol is not None:
        sql += " AND symbol = ?"
        params.append(symbol)
    sql += " ORDER BY seq LIMIT ?"
    conn = connect_ledger(path)
    try:
        return conn.execute(sql, [*params, limit]).fetchall()
    finally:
        conn.close()


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
        "ledger_bytes": size, "ledger_last_seq": ledger.last_seq,
        "batches": venue.batches, "queued": venue.queue.qsize(),
        "instruments": len(engine.instruments), "firms": len(engine.firms),
        "accounts": len(engine.accounts), "open_orders": len(engine.orders),
        "slow_consumer_disconnects": activity.slow_consumer_disconnects,
        "resyncs_required": activity.resyncs_required,
    }))


ADMIN_OPS: dict[str, Op] = {
    "logon": Op(logon, None),
    "add_instrument": Op(add_instrument),
    "import_instruments": Op(import_instruments),
    "list_instruments": Op(list_instruments),
    "show_instrument": Op(show_instrument),
    "set_price_band": Op(set_price_band),
    "add_account": Op(add_account),
    "set_account_limits": Op(set_account_limits),
    "set_credit_limit": Op(set_credit_limit),
    "list_firms": Op(list_firms),
    "show_firm": Op(show_firm),
    "list_accounts": Op(list_accounts),
    "show_account": Op(show_account),
    "set_kill_switch": Op(set_kill_switch),
    "bust_trade": Op(bust_trade),
    "start_trading_day": Op(start_trading_day),
    "issue_key": Op(issue_key),
    "revoke_key": Op(revoke_key),
    "list_keys": Op(list_keys),
    "book": Op(book),
    "list_orders": Op(list_orders),
    "list_trades": Op(list_trades),
    "stats": Op(stats),
}
