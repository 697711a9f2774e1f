"""The operator's commands: reference data, trading states, limits, kill switches, busts.

A mixin of `Engine` (which holds the state and the event helpers these methods use), kept apart
so that the order-entry and matching code in engine.py reads on its own. Every method here
validates fully before changing anything, and answers with its event or a CommandRejected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exchange.engine import validation
from exchange.engine.book import Book
from exchange.engine.commands import (
    AddAccount,
    AddInstrument,
    BustTrade,
    ImportInstruments,
    SetAccountLimits,
    SetCreditLimit,
    SetKillSwitch,
    SetPriceBand,
    SetTradingState,
    StartTradingDay,
)
from exchange.engine.enums import TimeInForce, TradingState
from exchange.engine.events import (
    AccountAdded,
    AccountLimitsSet,
    CreditLimitSet,
    InstrumentAdded,
    InstrumentsImported,
    KillSwitchSet,
    PriceBandSet,
    TradeBusted,
    TradingDayStarted,
    TradingStateChanged,
)
from exchange.engine.instrument import Account, Firm, Instrument
from exchange.engine.reasons import CancelReason, Reject


def _spec(ts_us: int, row: object) -> AddInstrument | None:
    """An import row as an AddInstrument, or None if it has the wrong shape."""
    if type(row) not in (list, tuple) or not 8 <= len(row) <= 14:  # type: ignore[arg-type]
        return None
    return AddInstrument(ts_us, *row)  # type: ignore[misc]


if TYPE_CHECKING:
    from exchange.engine.engine import Engine

    _Base = Engine
else:
    _Base = object

KILL_SCOPES = ("firm", "account")


class VenueCommands(_Base):
    def _add_instrument(self, cmd: AddInstrument) -> None:
        reason = validation.instrument_spec(cmd)
        if reason is None and cmd.symbol in self.instruments:
            reason = Reject.DUPLICATE_INSTRUMENT
        if reason is not None:
            self._reject_command(reason, f"add instrument {cmd.symbol!r}")
            return
        self._list(cmd)
        self._emit(InstrumentAdded, cmd.symbol)

    def _import_instruments(self, cmd: ImportInstruments) -> None:
        """All rows are checked first (each as AddInstrument, and no symbol twice); the first
        bad row rejects the whole command, naming the row (1-based)."""
        specs, reason, bad_row = [], None, 0
        if not (validation.is_int(cmd.ts_us) and type(cmd.rows) in (list, tuple)):
            reason = Reject.INVALID_FIELD
        else:
            seen: set[str] = set()
            for bad_row, row in enumerate(cmd.rows, start=1):  # bad_row is named on reject
                spec = _spec(cmd.ts_us, row)
                reason = Reject.INVALID_FIELD if spec is None else validation.instrument_spec(spec)
                if reason is None and (spec.symbol in self.instruments or spec.symbol in seen):
                    reason = Reject.DUPLICATE_INSTRUMENT
                if reason is not None:
                    break
                seen.add(spec.symbol)
                specs.append(spec)
        if reason is not None:
            self._reject_command(reason, f"import instruments: row {bad_row}")
            return
        for spec in specs:
            self._list(spec)
        self._emit(InstrumentsImported, len(specs))

    def _list(self, spec: AddInstrument) -> None:
        self.instruments[spec.symbol] = instrument = Instrument(spec)
        self.books[spec.symbol] = Book(spec.symbol)
        self.state_digest.mark(("instrument", spec.symbol), instrument)

    def _set_trading_state(self, cmd: SetTradingState) -> None:
        instrument = self._instrument_for(cmd, validation.trading_state_fields(cmd))
        if instrument is None:
            return
        instrument.state = state = TradingState(cmd.state)
        self.state_digest.mark(("instrument", cmd.symbol), instrument)
        self._emit(TradingStateChanged, cmd.symbol, state)
        if state is TradingState.CLOSED:
            book = self.books[cmd.symbol]
            for order in [o for o in book.orders() if o.tif is TimeInForce.DAY]:
                self._expire(order)

    def _set_price_band(self, cmd: SetPriceBand) -> None:
        instrument = self._instrument_for(cmd, validation.price_band_fields(cmd))
        if instrument is None:
            return
        reason = validation.band_fields(cmd.reference_price, cmd.band_ticks, instrument.tick_size)
        if reason is not None:
            self._reject_command(reason, f"price band {cmd.symbol!r}")
            return
        instrument.reference_price = cmd.reference_price
        instrument.band_ticks = cmd.band_ticks
        self.state_digest.mark(("instrument", cmd.symbol), instrument)
        self._emit(PriceBandSet, cmd.symbol, cmd.reference_price, cmd.band_ticks)

    def _instrument_for(self, cmd: SetTradingState | SetPriceBand,
                        reason: Reject | None) -> Instrument | None:
        instrument = None if reason else self.instruments.get(cmd.symbol)
        if instrument is None:
            self._reject_command(reason or Reject.UNKNOWN_INSTRUMENT, f"symbol {cmd.symbol!r}")
        return instrument

    def _add_account(self, cmd: AddAccount) -> None:
        reason = validation.account_fields(cmd)
        if reason is None and cmd.account in self.accounts:
            reason = Reject.DUPLICATE_ACCOUNT
        if reason is not None:
            self._reject_command(reason, f"add account {cmd.account!r}")
            return
        self.accounts[cmd.account] = account = Account(cmd)
        firm = self.firms.get(cmd.firm)
        if firm is None:
            self.firms[cmd.firm] = firm = Firm(cmd.firm)
        firm.accounts.append(account)
        self.state_digest.mark(("account", cmd.account), account)
        self._emit(AccountAdded, cmd.account, cmd.firm)

    def _set_account_limits(self, cmd: SetAccountLimits) -> None:
        reason = validation.account_fields(cmd)
        account = None if reason else self.accounts.get(cmd.account)
        if account is None:
            self._reject_command(reason or Reject.UNKNOWN_ACCOUNT, f"account {cmd.account!r}")
            return
        account.max_order_qty = cmd.max_order_qty
        account.max_order_notional = cmd.max_order_notional
        account.max_open_orders = cmd.max_open_orders
        self.state_digest.mark(("account", cmd.account), account)
        self._emit(AccountLimitsSet, cmd.account, cmd.max_order_qty, cmd.max_order_notional,
                   cmd.max_open_orders)

    def _set_credit_limit(self, cmd: SetCreditLimit) -> None:
        reason = validation.credit_limit_fields(cmd)
        firm = None if reason else self.firms.get(cmd.firm)
        if firm is None:
            self._reject_command(reason or Reject.UNKNOWN_FIRM, f"firm {cmd.firm!r}")
            return
        firm.credit_limit = cmd.credit_limit
        self._emit(CreditLimitSet, cmd.firm, cmd.credit_limit)

    def _set_kill_switch(self, cmd: SetKillSwitch) -> None:
        """Engaging cancels every live order it holds (in order-id order) and blocks new
        orders and amends; releasing lifts the block. Cancels are always allowed."""
        reason = validation.kill_switch_fields(cmd)
        holders: list[Account] = []
        if reason is None and cmd.scope == "firm":
            firm = self.firms.get(cmd.name)
            if firm is None:
                reason = Reject.UNKNOWN_FIRM
            else:
                firm.blocked = cmd.engaged
                holders = firm.accounts
        elif reason is None:
            account = self.accounts.get(cmd.name)
            if account is None:
                reason = Reject.UNKNOWN_ACCOUNT
            else:
                account.blocked = cmd.engaged
                self.state_digest.mark(("account", cmd.name), account)
                holders = [account]
        if reason is not None:
            self._reject_command(reason, f"kill switch {cmd.scope!r} {cmd.name!r}")
            return
        doomed = self._orders_of(holders) if cmd.engaged else []
        self._emit(KillSwitchSet, cmd.scope, cmd.name, cmd.engaged, len(doomed))
        for order in doomed:
            self._take_out(order)
            self._canceled(order, order.leaves, CancelReason.KILL_SWITCH)

    def _bust_trade(self, cmd: BustTrade) -> None:
        reason = validation.bust_fields(cmd)
        trade = None if reason else self.day_trades.get(cmd.trade_id)
        if reason is None and trade is None:
            reason = Reject.UNKNOWN_TRADE
        if reason is None and cmd.trade_id in self.busted:
            reason = Reject.TRADE_ALREADY_BUSTED
        if reason is not None or trade is None:
            self._reject_command(reason or Reject.UNKNOWN_TRADE, f"bust trade {cmd.trade_id!r}")
            return
        symbol, price, qty, buy_account, sell_account = trade
        self.busted.add(cmd.trade_id)
        notional = price * qty
        self.firms[self.accounts[buy_account].firm].net_bought -= notional
        self.firms[self.accounts[sell_account].firm].net_bought += notional
        self._emit(TradeBusted, cmd.trade_id, symbol, price, qty, buy_account, sell_account,
                   cmd.reason)

    def _start_trading_day(self, cmd: StartTradingDay) -> None:
        for firm in self.firms.values():
            firm.net_bought = 0
        self.day_trades.clear()
        self.busted.clear()
        self._emit(TradingDayStarted)
