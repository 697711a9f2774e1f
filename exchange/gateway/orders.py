"""Every order the venue ever saw, and the execution reports its events make. Pure.

`OrderTracker.apply(command, events)` folds one ledger entry in and returns the execution
reports it caused, as `(account, report)` pairs with wire-ready values. Its state is a function of
the entries alone, so replaying the ledger rebuilds it exactly: the same reports, the same
per-account `exec_seq` (1, 2, ... with no gaps), the same cl_ord_id index. That is what makes
exec_seq survive restarts and lets a client resume from the ledger.

Invariants (`check`): a working order has `qty == cum_qty + leaves`; a terminal one has
`leaves == 0`; `by_cl_ord_id` names every order (and every engine-rejected order) under every
cl_ord_id it ever had, for the whole history, which the gateway uses so that a resent cl_ord_id
is never executed twice (the engine only knows live orders' ids).

Stop orders (STOP, STOP_LIMIT) have a record from their StopOrderAccepted (NEW, held off the
book, `stop_px`); when a trade triggers one its record ends TRIGGERED (exec_type TRIGGERED,
`trigger_px`, `triggered_order_id`) and the order it became has a record of its own under the
same cl_ord_id (MARKET or LIMIT, its own NEW, fills and end). Fills of an uncross (the trades
right after an AuctionUncrossed) report `liquidity: "AUCTION"` on both sides (FIX
LastLiquidityInd 4), not MAKER/TAKER.

Costs: `apply` O(events); memory O(orders ever), one small record each.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from typing import Any

from exchange.engine import (
    AddInstrument,
    CancelRejected,
    Command,
    Event,
    InstrumentAdded,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderRejected,
    OrderReplaced,
    OrderRestated,
    OrdType,
    Side,
    TimeInForce,
    TradeBusted,
    TradeExecuted,
)
from exchange.engine.events import AuctionUncrossed, StopOrderAccepted, StopTriggered
from exchange.engine.instrument import format_price
from exchange.engine.reasons import CancelReason, Reject, fix_ord_rej_reason

# the cancel reasons of the gateway's own mass cancels, as the reports name them
_REPORTED_CANCEL_REASON = {
    CancelReason.DISCONNECT: "CANCEL_ON_DISCONNECT",
    CancelReason.DEAD_MANS_SWITCH: "CANCEL_ALL_AFTER",
}
_TERMINAL = frozenset(("FILLED", "CANCELED", "REJECTED", "EXPIRED", "TRIGGERED"))
# enum members' names by member, one dict per enum (they are IntEnums: Side.BUY ==
# OrdType.LIMIT): a dict lookup, not Enum.name's Python-level property
_SIDE_NAME: dict[Side | None, str | None] = {None: None, **{side: side.name for side in Side}}
_ORD_TYPE_NAME = {ord_type: ord_type.name for ord_type in OrdType}
_TIF_NAME = {tif: tif.name for tif in TimeInForce}
_CANCEL_REASON = {**{why: why.name for why in CancelReason}, **_REPORTED_CANCEL_REASON}
_AVG_EXTRA_DECIMALS = 4


class OrderRecord:
    """An order's state as the client sees it (FIX vocabulary)."""

    __slots__ = (
        "account",
        "busted_qty",
        "cl_ord_id",
        "cum_qty",
        "leaves",
        "notional",
        "ord_type",
        "order_id",
        "price",
        "qty",
        "reject_reason",
        "side",
        "status",
        "stop_price",
        "symbol",
        "tif",
        "transact_time_us",
    )

    def __init__(self, order_id: int | None, account: str, cl_ord_id: str, symbol: str) -> None:
        self.order_id = order_id
        self.account = account
        self.cl_ord_id = cl_ord_id
        self.symbol = symbol
        self.side: Side | None = None
        self.ord_type = ""
        self.tif = ""
        self.qty = 0
        self.price: int | None = None
        self.cum_qty = 0
        self.busted_qty = 0  # filled, then busted: no longer in cum_qty, not back in leaves
        self.leaves = 0
        self.notional = 0  # sum of price * qty over fills, for avg_px
        self.status = "NEW"
        self.reject_reason: Reject | None = None
        self.transact_time_us = 0
        self.stop_price: int | None = None  # a stop order's trigger

    @property
    def terminal(self) -> bool:
        return self.status in _TERMINAL


class OrderTracker:
    def __init__(self, specs: Mapping[str, AddInstrument] | None = None) -> None:
        self.specs: dict[str, AddInstrument] = dict(specs or {})
        self.orders: dict[int, OrderRecord] = {}
        self.by_cl_ord_id: dict[str, dict[str, OrderRecord]] = {}  # account -> cl_ord_id -> order
        self.open_orders: dict[str, dict[int, OrderRecord]] = {}  # account -> live, entry order
        self.exec_seq: dict[str, int] = {}  # account -> last exec_seq given
        self.trades: dict[int, tuple[int, int]] = {}  # trade_id -> (maker, taker) order ids
        self._wanted: Container[str] | None = None
        self._trigger: OrderRecord | None = None  # the stop last triggered in this entry

    # -- queries ---------------------------------------------------------------------------

    def find(self, account: str, cl_ord_id: str) -> OrderRecord | None:
        return self.by_cl_ord_id.get(account, {}).get(cl_ord_id)

    def owned(self, account: str, order_id: int) -> OrderRecord | None:
        """The order if it is this account's (else None: nothing leaks across accounts)."""
        record = self.orders.get(order_id)
        return record if record is not None and record.account == account else None

    def view(self, record: OrderRecord) -> dict[str, Any]:
        """The order's status as a response carries it."""
        decimals = self.specs[record.symbol].price_decimals if record.symbol in self.specs else 0
        view = {
            "order_id": None if record.order_id is None else str(record.order_id),
            "cl_ord_id": record.cl_ord_id, "account": record.account, "sym": record.symbol,
            "side": _SIDE_NAME[record.side],
            "ord_type": record.ord_type, "tif": record.tif, "ord_status": record.status,
            "order_qty": str(record.qty),
            "px": None if record.price is None else format_price(record.price, decimals),
            "cum_qty": str(record.cum_qty), "leaves_qty": str(record.leaves),
            "avg_px": _avg_px(record, decimals), "transact_time_us": record.transact_time_us,
        }
        if record.reject_reason is not None:
            view["ord_rej_reason"] = record.reject_reason.name
        if record.stop_price is not None:
            view["stop_px"] = format_price(record.stop_price, decimals)
        return view

    # -- folding entries in ----------------------------------------------------------------

    def apply(self, command: Command, events: list[Event],
              wanted: Container[str] | None = None) -> list[tuple[str, dict[str, Any]]]:
        """Fold one entry in; return its execution reports, `exec_seq` assigned. O(events).

        With `wanted`, only reports of those accounts are built (the others' exec_seq still
        advances): the venue asks only for accounts someone listens to."""
        self._wanted = wanted
        reports: list[tuple[str, dict[str, Any]]] = []
        if type(command) is AddInstrument and any(type(e) is InstrumentAdded for e in events):
            self.specs.setdefault(command.symbol, command)  # listed, not refused
        uncross = False  # in the trades right after an AuctionUncrossed
        self._trigger = None
        for event in events:
            kind = type(event)
            if kind is TradeExecuted:
                self._traded(event, reports, uncross)  # type: ignore[arg-type]
                continue
            uncross = kind is AuctionUncrossed
            if kind is OrderAccepted:
                self._accepted(event, reports)  # type: ignore[arg-type]
            elif kind is TradeBusted:
                self._busted(event, reports)  # type: ignore[arg-type]
            elif kind is OrderCanceled:
                reason = cancel_reason_name(event.reason)  # type: ignore[union-attr,arg-type]
                self._ended(event, "CANCELED", reason, reports)  # type: ignore[arg-type]
            elif kind is OrderExpired:
                self._ended(event, "EXPIRED", None, reports)  # type: ignore[arg-type]
            elif kind is OrderReplaced:
                self._replaced(event, reports)  # type: ignore[arg-type]
            elif kind is OrderRestated:
                self._restated(event, reports)  # type: ignore[arg-type]
            elif kind is OrderRejected:
                self._rejected(event, command, reports)  # type: ignore[arg-type]
            elif kind is CancelRejected:
                self._cancel_rejected(event, reports)  # type: ignore[arg-type]
            elif kind is StopOrderAccepted:
                self._stop_accepted(event, reports)  # type: ignore[arg-type]
            elif kind is StopTriggered:
                self._triggered(event, reports)  # type: ignore[arg-type]
        return reports

    def _accepted(self, event: OrderAccepted, reports: list) -> None:
        record = OrderRecord(event.order_id, event.account, event.cl_ord_id, event.symbol)
        record.side = event.side
        record.ord_type, record.tif = _ORD_TYPE_NAME[event.ord_type], _TIF_NAME[event.tif]
        record.qty = record.leaves = event.qty
        record.price = event.price
        record.transact_time_us = event.ts_us
        self.orders[event.order_id] = record
        self.by_cl_ord_id.setdefault(event.account, {})[event.cl_ord_id] = record
        self.open_orders.setdefault(event.account, {})[event.order_id] = record
        self._report(record, "NEW", event.seq, reports)

    def _stop_accepted(self, event: StopOrderAccepted, reports: list) -> None:
        record = OrderRecord(event.order_id, event.account, event.cl_ord_id, event.symbol)
        record.side, record.ord_type, record.tif = event.side, _ORD_TYPE_NAME[event.ord_type], _TIF_NAME[event.tif]
        record.qty = record.leaves = event.qty
        record.price, record.stop_price = event.price, event.stop_price
        record.transact_time_us = event.ts_us
        self.orders[event.order_id] = record
        self.by_cl_ord_id.setdefault(event.account, {})[event.cl_ord_id] = record
        self.open_orders.setdefault(event.account, {})[event.order_id] = record
        self._report(record, "NEW", event.seq, reports)

    def _triggered(self, event: StopTriggered, reports: list) -> None:
        """The stop left the held stops: its record ends; the order it became (accepted or
        rejected next, same cl_ord_id) has its own."""
        record = self.orders[event.order_id]
        record.leaves, record.status = 0, "TRIGGERED"
        record.transact_time_us = event.ts_us
        self._close(record)
        self._trigger = record
        report = self._report(record, "TRIGGERED", event.seq, reports)
        report.update(trigger_px=self._px(record, event.trigger_price),
                      triggered_order_id=None if event.new_order_id is None
                      else str(event.new_order_id))

    def _traded(self, event: TradeExecuted, reports: list, uncross: bool = False) -> None:
        self.trades[event.trade_id] = (event.maker_order_id, event.taker_order_id)
        for order_id, leaves, liquidity, suffix in (
            (event.maker_order_id, event.maker_leaves, "AUCTION" if uncross else "MAKER", "m"),
            (event.taker_order_id, event.taker_leaves, "AUCTION" if uncross else "TAKER", "t"),
        ):
            record = self.orders[order_id]
            record.cum_qty += event.qty
            record.notional += event.price * event.qty
            record.leaves = leaves
            record.status = "PARTIALLY_FILLED" if leaves else "FILLED"
            record.transact_time_us = event.ts_us
            if not leaves:
                self._close(record)
            report = self._report(record, "TRADE", event.seq, reports, suffix)
            report.update(last_qty=str(event.qty), trade_id=str(event.trade_id),
                          last_px=self._px(record, event.price), liquidity=liquidity)

    def _busted(self, event: TradeBusted, reports: list) -> None:
        """An operator canceled a trade (FIX ExecType TRADE_CANCEL): each side's cum_qty and
        average price lose the fill; the book did not change, so leaves_qty stays."""
        for order_id, suffix in zip(self.trades.pop(event.trade_id, ()), "mt"):
            record = self.orders[order_id]
            record.cum_qty -= event.qty
            record.busted_qty += event.qty
            record.notional -= event.price * event.qty
            record.transact_time_us = event.ts_us
            report = self._report(record, "TRADE_CANCEL", event.seq, reports, suffix)
            report.update(last_qty=str(event.qty), last_px=self._px(record, event.price),
                          trade_id=str(event.trade_id), bust_reason=event.reason)

    def _ended(self, event: OrderCanceled | OrderExpired, status: str, reason: str | None,
               reports: list) -> None:
        record = self.orders[event.order_id]
        record.leaves = 0
        record.status = status
        record.transact_time_us = event.ts_us
        self._close(record)
        report = self._report(record, status, event.seq, reports)
        if reason is not None:
            report["cancel_reason"] = reason

    def _replaced(self, event: OrderReplaced, reports: list) -> None:
        record = self.orders[event.order_id]
        record.qty, record.price, record.leaves = event.qty, event.price, event.leaves
        record.transact_time_us = event.ts_us
        if event.cl_ord_id != record.cl_ord_id:  # the old id stays known, naming the same order
            record.cl_ord_id = event.cl_ord_id
            self.by_cl_ord_id.setdefault(event.account, {})[event.cl_ord_id] = record
        report = self._report(record, "REPLACED", event.seq, reports)
        report["kept_priority"] = event.kept_priority

    def _restated(self, event: OrderRestated, reports: list) -> None:
        record = self.orders[event.order_id]
        record.leaves = event.leaves
        record.qty = record.cum_qty + event.leaves
        record.transact_time_us = event.ts_us
        report = self._report(record, "RESTATED", event.seq, reports)
        report["restatement_reason"] = event.reason.name

    def _rejected(self, event: OrderRejected, command: Command, reports: list) -> None:
        record = OrderRecord(None, event.account, event.cl_ord_id, event.symbol)
        record.status, record.reject_reason = "REJECTED", event.reason
        record.transact_time_us = event.ts_us
        stop = self._trigger
        if stop is not None and (stop.account, stop.cl_ord_id) == (event.account,
                                                                   event.cl_ord_id):
            record.side, record.qty, record.price = stop.side, stop.qty, stop.price
        elif type(command).__name__ == "SubmitOrder":
            side = command.side  # type: ignore[union-attr]
            record.side = Side(side) if side in (1, 2) else None
            qty, price = command.qty, command.price  # type: ignore[union-attr]
            record.qty = qty if type(qty) is int else 0
            record.price = price if type(price) is int else None
        known = self.by_cl_ord_id.setdefault(event.account, {})
        known.setdefault(event.cl_ord_id, record)  # a live order's id keeps naming that order
        report = self._report(record, "REJECTED", event.seq, reports)
        report["ord_rej_reason"] = event.reason.name
        report["fix_ord_rej_reason"] = fix_ord_rej_reason(event.reason)

    def _cancel_rejected(self, event: CancelRejected, reports: list) -> None:
        record = self.owned(event.account, event.order_id)
        reason = event.reason.name
        if record is None:
            record = OrderRecord(event.order_id or None, event.account, "", "")
            record.status = "UNKNOWN"
        elif record.terminal and event.reason is Reject.UNKNOWN_ORDER:
            reason = "TOO_LATE_TO_CANCEL"
        report = self._report(record, "CANCEL_REJECTED", event.seq, reports)
        report["cxl_rej_reason"] = reason

    # -- helpers ---------------------------------------------------------------------------

    def _close(self, record: OrderRecord) -> None:
        self.open_orders.get(record.account, {}).pop(record.order_id, None)  # type: ignore[arg-type]

    def _px(self, record: OrderRecord, price: int) -> str:
        return format_price(price, self.specs[record.symbol].price_decimals)

    def _report(self, record: OrderRecord, exec_type: str, seq: int, reports: list,
                suffix: str = "") -> dict[str, Any]:
        account = record.account
        exec_seq = self.exec_seq.get(account, 0) + 1
        self.exec_seq[account] = exec_seq
        if self._wanted is not None and account not in self._wanted:
            return {}  # nobody listens: count it, skip building it
        report = self.view(record)
        report.update(ch="exec", exec_seq=exec_seq, exec_id=f"{seq}{suffix}",
                      exec_type=exec_type)
        reports.append((account, report))
        return report

    def check(self) -> None:
        """Assert the invariants. O(orders)."""
        for record in self.orders.values():
            if record.terminal:
                assert record.leaves == 0, record.order_id
            else:
                assert record.qty == record.cum_qty + record.busted_qty + record.leaves, record.order_id
                assert self.open_orders[record.account][record.order_id] is record  # type: ignore[index]
            if record.status != "TRIGGERED":  # its cl_ord_id names the order it became
                assert self.find(record.account, record.cl_ord_id) is record
        for live in self.open_orders.values():
            assert all(not record.terminal for record in live.values())


def _avg_px(record: OrderRecord, decimals: int) -> str | None:
    """Average fill price, exact to `decimals + 4` places (rounded half away from zero)."""
    if not record.cum_qty:
        return None
    scale = 10**_AVG_EXTRA_DECIMALS
    numerator = record.notional * scale
    units, remainder = divmod(abs(numerator), record.cum_qty)
    if 2 * remainder >= record.cum_qty:
        units += 1
    return format_price(-units if numerator < 0 else units, decimals + _AVG_EXTRA_DECIMALS)


def cancel_reason_name(why: CancelReason) -> str:
    """The `cancel_reason` a report (or an answer) gives for the engine's reason."""
    return _CANCEL_REASON.get(why) or why.name
