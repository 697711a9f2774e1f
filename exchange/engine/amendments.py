"""Amends and mass cancels: one function per command, each taking the Engine and the command
(like venue.py), validating fully before changing anything, and changing the book only through
the core's public methods. (Plain cancels are on the compiled hot path, `core.pyx`, with the
same rule.) An amend of an order that is not the account's own is UNKNOWN_ORDER: another
account's orders do not exist for it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from exchange.engine import validation
from exchange.engine.commands import AmendOrder, MassCancel
from exchange.engine.enums import CALL_STATES, Side, TradingState
from exchange.engine.events import MassCanceled
from exchange.engine.instrument import Account, Instrument
from exchange.engine.order import Order
from exchange.engine.pretrade import STATE_REJECT, check_limits, crosses
from exchange.engine.reasons import CancelReason, Reject

if TYPE_CHECKING:
    from exchange.engine.engine import Engine

OPEN = TradingState.OPEN


def _owned_order(engine: Engine, cmd: AmendOrder,
                 reason: Reject | None) -> Order | None:
    """The live order the command names, if it belongs to the command's account; else
    a CancelRejected is emitted (an order of another account is unknown to this one)."""
    order = None if reason else engine.orders.get(cmd.order_id)
    if order is not None and order.account == cmd.account:
        return order
    stop = None if reason else engine.stops.by_id.get(cmd.order_id)
    if stop is not None and stop.account == cmd.account:
        reason = Reject.STOP_NOT_AMENDABLE
    engine.reject_cancel(cmd, reason or Reject.UNKNOWN_ORDER)
    return None


def amend(engine: Engine, cmd: AmendOrder) -> None:
    order = _owned_order(engine, cmd, validation.amend_fields(cmd))
    if order is None:
        return
    instrument = engine.instruments[order.symbol]
    account = engine.accounts[order.account]
    reason = _check_amend(engine, cmd, order, instrument, account)
    if reason is not None:
        engine.reject_cancel(cmd, reason)
        return
    cum_qty = order.cum_qty
    if cmd.qty <= cum_qty:
        engine.take_out(order)
        engine.canceled(order, order.leaves, CancelReason.AMENDED_BELOW_FILLED)
        return
    new_leaves = cmd.qty - cum_qty
    keeps_priority = cmd.price == order.price and new_leaves <= order.leaves
    if cmd.cl_ord_id is not None and cmd.cl_ord_id != order.cl_ord_id:
        del account.live_cl_ord_ids[order.cl_ord_id]
        order.cl_ord_id = cmd.cl_ord_id
        account.live_cl_ord_ids[order.cl_ord_id] = order.order_id
    book = engine.books[order.symbol]
    if keeps_priority:
        level = book.ladder(order.side).find(order.price)
        engine.touch(level)
        level.total -= order.visible
        engine.resting_changed(order, new_leaves - order.leaves)
        order.qty, order.leaves = cmd.qty, new_leaves
        order.visible = min(order.visible, new_leaves)
        level.total += order.visible
        engine.replaced(order, True)
        return
    engine.take_out(order)
    order.qty, order.price, order.leaves = cmd.qty, cmd.price, new_leaves
    engine.replaced(order, False)
    if instrument.state not in CALL_STATES:  # in a call nothing trades before the uncross
        engine.match(book, order, order.price)
    if order.leaves:
        engine.rest(book, order)


def _check_amend(engine: Engine, cmd: AmendOrder, order: Order, instrument: Instrument,
                 account: Account) -> Reject | None:
    if account.blocked or engine.firms[account.firm].blocked:
        return Reject.BLOCKED
    in_call = instrument.state in CALL_STATES
    if instrument.state is not OPEN and not in_call:
        return STATE_REJECT[instrument.state]
    if cmd.qty > instrument.max_qty:
        return Reject.QUANTITY_ABOVE_MAX
    if cmd.qty > order.cum_qty and cmd.qty < instrument.min_qty:
        return Reject.QUANTITY_BELOW_MIN
    new_leaves = max(cmd.qty - order.cum_qty, 0)
    adds_exposure = (instrument.notional(cmd.price, new_leaves)
                     > instrument.notional(order.price, order.leaves))  # type: ignore[arg-type]
    reason = (engine.check_price(cmd.price, instrument)
              or check_limits(account, instrument, order.side, cmd.qty, cmd.price)
              or (adds_exposure and engine.check_credit(
                  account, instrument, order.side, cmd.price, new_leaves, replacing=order))
              or None)
    if reason is None and (cmd.price != order.price or new_leaves > order.leaves):
        reason = _check_capacity(engine, cmd, order, instrument, new_leaves)
    if reason is not None:
        return reason
    new_id = cmd.cl_ord_id
    if new_id is not None and new_id != order.cl_ord_id and new_id in account.live_cl_ord_ids:
        return Reject.DUPLICATE_ORDER
    if cmd.qty == order.qty and cmd.price == order.price and new_id in (None, order.cl_ord_id):
        return Reject.AMEND_NO_CHANGE
    best = engine.books[order.symbol].ladder(order.side.opposite).best()
    if (order.post_only and not in_call and best is not None
            and crosses(order.side, cmd.price, best.price)):
        return Reject.WOULD_TAKE
    return None


def _check_capacity(engine: Engine, cmd: AmendOrder, order: Order, instrument: Instrument,
                    new_leaves: int) -> Reject | None:
    """An amend that loses priority enters anew: the firm's day notional must have room for
    the new terms at their worst, less what the order holds now."""
    best = engine.books[order.symbol].ladder(order.side.opposite).best()
    worst = instrument.worst_notional(cmd.price, new_leaves, None if best is None else best.price)
    held = abs(order.price) * order.leaves * instrument.notional_scale  # type: ignore[arg-type]
    if worst - held > engine.firms[order.firm].day_room():
        return Reject.NOTIONAL_CAPACITY
    return None


def mass_cancel(engine: Engine, cmd: MassCancel) -> None:
    reason = validation.mass_cancel_fields(cmd)
    account = None if reason else engine.accounts.get(cmd.account)
    if reason is None and account is None:
        reason = Reject.UNKNOWN_ACCOUNT
    if reason is None and cmd.symbol is not None and cmd.symbol not in engine.instruments:
        reason = Reject.UNKNOWN_INSTRUMENT
    if reason is not None or account is None:
        engine.reject_command(reason or Reject.UNKNOWN_ACCOUNT, f"mass cancel {cmd.account!r}")
        return
    doomed = [
        order for order in engine.live_of([account])
        if (cmd.symbol is None or order.symbol == cmd.symbol)
        and (cmd.side is None or order.side == cmd.side)
    ]
    side = None if cmd.side is None else Side(cmd.side)
    engine.emit(MassCanceled, cmd.account, cmd.symbol, side, len(doomed))
    engine.cancel_live(doomed, CancelReason(cmd.reason))
