"""The operator's commands: reference data, trading states, limits, kill switches, busts, keys.

One function per command, each taking the Engine (whose state and event helpers they use) and
the command; kept apart so that the order-entry and matching code in engine.py reads on its
own. Every function validates fully before changing anything, and answers with its event or a
CommandRejected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exchange.engine import validation
from exchange.engine.commands import (
    AddAccount,
    AddInstrument,
    BustTrade,
    ImportInstruments,
    IssueKey,
    RevokeKey,
    SetAccountLimits,
    SetCreditLimit,
    SetKillSwitch,
    SetPriceBand,
    SetTradingState,
    SetVolatilityBands,
    StartTradingDay,
)
from exchange.engine.enums import TimeInForce, TradingState
from exchange.engine.events import (
    AccountAdded,
    AccountLimitsSet,
    CreditLimitSet,
    InstrumentAdded,
    InstrumentsImported,
    KeyIssued,
    KeyRevoked,
    KillSwitchSet,
    PriceBandSet,
    TradeBusted,
    TradingDayStarted,
    VolatilityBandsSet,
)
from exchange.engine.instrument import Account, ApiKey, Firm, Instrument
from exchange.engine.reasons import CancelReason, Reject

_FIELDS = len(AddInstrument._fields)


def _spec(ts_us: int, row: object) -> AddInstrument | None:
    """An import row as an AddInstrument, or None if it has the wrong shape."""
    # AddInstrument has 9 required fields after ts_us and 16 in all
    if type(row) not in (list, tuple) or not 9 <= len(row) <= 16:  # type: ignore[arg-type]
        return None
    if len(row) == _FIELDS - 1:  # type: ignore[arg-type]  # all given (the gateway's rows)
        return tuple.__new__(AddInstrument, (ts_us, *row))  # type: ignore[arg-type, misc]
    return AddInstrument(ts_us, *row)  # type: ignore[misc]


if TYPE_CHECKING:
    from exchange.engine.engine import Engine

KILL_SCOPES = ("firm", "account")


def add_instrument(engine: Engine, cmd: AddInstrument) -> None:
    reason, price_range = validation.instrument_spec_range(cmd)
    if reason is None and cmd.symbol in engine.instruments:
        reason = Reject.DUPLICATE_INSTRUMENT
    if reason is not None:
        engine.reject_command(reason, f"add instrument {cmd.symbol!r}")
        return
    _list(engine, {cmd.symbol: Instrument(cmd, price_range)})
    engine.emit(InstrumentAdded, cmd.symbol)


def import_instruments(engine: Engine, cmd: ImportInstruments) -> None:
    """All rows are checked first (each as AddInstrument, and no symbol twice); the first
    bad row rejects the whole command, naming the row (1-based). Each row's Instrument is
    made as it is checked (from the price range the check found) and listed only when all
    passed. O(rows)."""
    staged: dict[str, Instrument] = {}
    reason: Reject | None = None
    bad_row = 0
    if not (validation.is_int(cmd.ts_us) and type(cmd.rows) in (list, tuple)):
        reason = Reject.INVALID_FIELD
    else:
        listed, check = engine.instruments, validation.instrument_spec_range
        for bad_row, row in enumerate(cmd.rows, start=1):  # bad_row is named on reject
            spec = _spec(cmd.ts_us, row)
            if spec is None:
                reason = Reject.INVALID_FIELD
                break
            reason, price_range = check(spec)
            if reason is None and (spec.symbol in listed or spec.symbol in staged):
                reason = Reject.DUPLICATE_INSTRUMENT
            if reason is not None:
                break
            staged[spec.symbol] = Instrument(spec, price_range)
    if reason is not None:
        engine.reject_command(reason, f"import instruments: row {bad_row}")
        return
    _list(engine, staged)
    engine.emit(InstrumentsImported, len(staged))


def _list(engine: Engine, instruments: dict[str, Instrument]) -> None:
    """List checked instruments (symbol -> Instrument, none listed yet), in their order."""
    engine.instruments.update(instruments)
    listed, mark = engine.calls.listed, engine.state_digest.mark_member
    for symbol, instrument in instruments.items():
        listed(engine, instrument)
        mark("instrument", symbol, instrument)


def set_trading_state(engine: Engine, cmd: SetTradingState) -> None:
    """TradingStateChanged, then an uncross if the instrument enters OPEN or CLOSED with a
    crossed book (calls.py), then, entering CLOSED, its DAY orders and DAY stops expire."""
    instrument = _instrument_for(engine, cmd, validation.trading_state_fields(cmd))
    if instrument is None:
        return
    state = TradingState(cmd.state)
    engine.calls.enter(engine, instrument, state)
    if state is TradingState.CLOSED:
        book = engine.books[cmd.symbol]
        for order in [o for o in book.orders() if o.tif is TimeInForce.DAY]:
            engine.expire(order)
        engine.stops.expire_day(engine, cmd.symbol)


def set_volatility_bands(engine: Engine, cmd: SetVolatilityBands) -> None:
    instrument = _instrument_for(engine, cmd, validation.volatility_fields(cmd), "volatility")
    if instrument is None:
        return
    off = cmd.dynamic_ticks is None and cmd.static_ticks is None
    instrument.volatility = None if off else (cmd.dynamic_ticks, cmd.static_ticks, cmd.call_us)
    engine.calls.tracked.add(cmd.symbol)
    engine.instrument_changed(cmd.symbol)
    engine.state_digest.mark_member("instrument", cmd.symbol, instrument)
    engine.emit(VolatilityBandsSet, cmd.symbol, cmd.dynamic_ticks, cmd.static_ticks, cmd.call_us)


def set_price_band(engine: Engine, cmd: SetPriceBand) -> None:
    instrument = _instrument_for(engine, cmd, validation.price_band_fields(cmd))
    if instrument is None:
        return
    reason = validation.band_fields(cmd.reference_price, cmd.band_ticks, instrument.tick_size,
                                    (instrument.min_price, instrument.max_price))
    if reason is not None:
        engine.reject_command(reason, f"price band {cmd.symbol!r}")
        return
    instrument.set_band(cmd.reference_price, cmd.band_ticks)
    if cmd.symbol in engine.calls.shown:  # a call's figures follow the reference price
        engine.calls.pending.add(cmd.symbol)
    engine.instrument_changed(cmd.symbol)
    engine.state_digest.mark_member("instrument", cmd.symbol, instrument)
    engine.emit(PriceBandSet, cmd.symbol, cmd.reference_price, cmd.band_ticks)


def _instrument_for(
    engine: Engine, cmd: SetTradingState | SetPriceBand | SetVolatilityBands,
    reason: Reject | None, what: str = "symbol",
) -> Instrument | None:
    """The command's instrument, or None after rejecting it (`what` leads the reject's text)."""
    instrument = None if reason else engine.instruments.get(cmd.symbol)
    if instrument is None:
        engine.reject_command(reason or Reject.UNKNOWN_INSTRUMENT, f"{what} {cmd.symbol!r}")
    return instrument


def add_account(engine: Engine, cmd: AddAccount) -> None:
    reason = validation.account_fields(cmd)
    if reason is None and cmd.account in engine.accounts:
        reason = Reject.DUPLICATE_ACCOUNT
    if reason is not None:
        engine.reject_command(reason, f"add account {cmd.account!r}")
        return
    firm = engine.firms.get(cmd.firm)
    if firm is None:
        engine.firms[cmd.firm] = firm = Firm(cmd.firm)
    engine.accounts[cmd.account] = account = Account(cmd, firm)
    firm.accounts.append(account)
    engine.state_digest.mark_member("account", cmd.account, account)
    engine.emit(AccountAdded, cmd.account, cmd.firm)


def set_account_limits(engine: Engine, cmd: SetAccountLimits) -> None:
    reason = validation.account_fields(cmd)
    account = None if reason else engine.accounts.get(cmd.account)
    if account is None:
        engine.reject_command(reason or Reject.UNKNOWN_ACCOUNT, f"account {cmd.account!r}")
        return
    account.max_order_qty = cmd.max_order_qty
    account.max_order_notional = cmd.max_order_notional
    account.max_open_orders = cmd.max_open_orders
    engine.state_digest.mark_member("account", cmd.account, account)
    engine.emit(
        AccountLimitsSet,
        cmd.account,
        cmd.max_order_qty,
        cmd.max_order_notional,
        cmd.max_open_orders,
    )


def set_credit_limit(engine: Engine, cmd: SetCreditLimit) -> None:
    reason = validation.credit_limit_fields(cmd)
    firm = None if reason else engine.firms.get(cmd.firm)
    if firm is None:
        engine.reject_command(reason or Reject.UNKNOWN_FIRM, f"firm {cmd.firm!r}")
        return
    firm.credit_limit = cmd.credit_limit
    engine.emit(CreditLimitSet, cmd.firm, cmd.credit_limit)


def set_kill_switch(engine: Engine, cmd: SetKillSwitch) -> None:
    """Engaging cancels every live order it holds (in order-id order) and blocks new
    orders and amends; releasing lifts the block. Cancels are always allowed."""
    reason = validation.kill_switch_fields(cmd)
    holders: list[Account] = []
    if reason is None and cmd.scope == "firm":
        firm = engine.firms.get(cmd.name)
        if firm is None:
            reason = Reject.UNKNOWN_FIRM
        else:
            firm.blocked = cmd.engaged
            holders = firm.accounts
    elif reason is None:
        account = engine.accounts.get(cmd.name)
        if account is None:
            reason = Reject.UNKNOWN_ACCOUNT
        else:
            account.blocked = cmd.engaged
            engine.state_digest.mark_member("account", cmd.name, account)
            holders = [account]
    if reason is not None:
        engine.reject_command(reason, f"kill switch {cmd.scope!r} {cmd.name!r}")
        return
    doomed = engine.live_of(holders) if cmd.engaged else []
    engine.emit(KillSwitchSet, cmd.scope, cmd.name, cmd.engaged, len(doomed))
    engine.cancel_live(doomed, CancelReason.KILL_SWITCH)


def bust_trade(engine: Engine, cmd: BustTrade) -> None:
    reason = validation.bust_fields(cmd)
    trade = None if reason else engine.day_trades.get(cmd.trade_id)
    if reason is None and trade is None:
        reason = Reject.UNKNOWN_TRADE
    if reason is None and cmd.trade_id in engine.busted:
        reason = Reject.TRADE_ALREADY_BUSTED
    if reason is not None or trade is None:
        engine.reject_command(reason or Reject.UNKNOWN_TRADE, f"bust trade {cmd.trade_id!r}")
        return
    symbol, price, qty, buy_account, sell_account = trade
    engine.busted.add(cmd.trade_id)
    notional = engine.instruments[symbol].notional(price, qty)
    engine.firms[engine.accounts[buy_account].firm].net_bought -= notional
    engine.firms[engine.accounts[sell_account].firm].net_bought += notional
    engine.emit(
        TradeBusted, cmd.trade_id, symbol, price, qty, buy_account, sell_account, cmd.reason
    )


def start_trading_day(engine: Engine, cmd: StartTradingDay) -> None:
    if not validation.is_int(cmd.ts_us):
        engine.reject_command(Reject.INVALID_FIELD, "start trading day")
        return
    for firm in engine.firms.values():
        firm.net_bought = 0
        firm.day_notional = 0
    engine.day_trades.clear()
    engine.busted.clear()
    engine.emit(TradingDayStarted)


def issue_key(engine: Engine, cmd: IssueKey) -> None:
    reason = validation.key_fields(cmd)
    if reason is None and cmd.key_id in engine.keys:
        reason = Reject.DUPLICATE_KEY
    if reason is None and cmd.account is not None and cmd.account not in engine.accounts:
        reason = Reject.UNKNOWN_ACCOUNT
    if reason is not None:
        engine.reject_command(reason, f"issue key {cmd.key_id!r}")
        return
    engine.keys[cmd.key_id] = key = ApiKey(cmd)
    engine.state_digest.mark_member("key", cmd.key_id, key)
    engine.emit(KeyIssued, cmd.key_id, cmd.role, cmd.account)


def revoke_key(engine: Engine, cmd: RevokeKey) -> None:
    valid = validation.is_int(cmd.ts_us) and validation.is_key_id(cmd.key_id)
    key = engine.keys.get(cmd.key_id) if valid else None
    if key is None or key.revoked:
        engine.reject_command(Reject.UNKNOWN_KEY if valid else Reject.INVALID_FIELD,
                               f"revoke key {cmd.key_id!r}")
        return
    key.revoked = True
    engine.state_digest.mark_member("key", cmd.key_id, key)
    engine.emit(KeyRevoked, cmd.key_id)
