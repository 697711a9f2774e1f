"""The answer to an applied command, from its outcome event. Pure.

An order op's answer is the order's status (`OrderTracker.view`) after the command, or the
engine's reject as an error with its reason's name and an explanation; an operator command's
answer names its event. Only the command's own events answer it (`own`), never what its time
caused before it (expiries, a volatility call's end with its trades and the stops they
triggered, other accounts' orders). Costs: O(events of the command).
"""

from __future__ import annotations

from typing import Any

from exchange.engine import (
    AmendOrder,
    CancelOrder,
    CancelRejected,
    Command,
    CommandRejected,
    Engine,
    Event,
    MassCanceled,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderRejected,
    OrderReplaced,
    SubmitOrder,
)
from exchange.engine.commands import SubmitStopOrder
from exchange.engine.events import StopOrderAccepted
from exchange.gateway import protocol
from exchange.gateway.orders import OrderTracker, cancel_reason_name
from exchange.gateway.protocol import Code
from exchange.gateway.rejects import explain
from exchange.gateway.spec_faults import rejected_detail

_ORDER_OUTCOMES = (OrderAccepted, OrderCanceled, OrderReplaced, StopOrderAccepted)
_CANCELS = (CancelOrder, AmendOrder)
_ORDER_EVENTS = frozenset((*_ORDER_OUTCOMES, OrderRejected, CancelRejected))


def own(command: Command, event: Event) -> bool:
    """Whether `event` may be `command`'s outcome: an order's events name its account and
    cl_ord_id, a cancel's or amend's its order; other commands have no order outcome (those
    in their events are consequences, such as a stop their trades triggered)."""
    kind = type(command)
    if kind is SubmitOrder or kind is SubmitStopOrder:
        return (getattr(event, "cl_ord_id", None) == command.cl_ord_id  # type: ignore[union-attr]
                and getattr(event, "account", None) == command.account)  # type: ignore[union-attr]
    if kind is CancelOrder or kind is AmendOrder:
        return getattr(event, "order_id", None) == command.order_id  # type: ignore[union-attr]
    return type(event) not in _ORDER_EVENTS


def outcome(tracker: OrderTracker, engine: Engine, request_id: str | None, command: Command,
            events: list[Event]) -> dict[str, Any]:
    """The response to `command`, applied to `engine` with `events` (folded into `tracker`)."""
    for event in events:
        if not own(command, event):
            continue
        kind = type(event)
        if kind in _ORDER_OUTCOMES:
            if kind is OrderCanceled and type(command) not in _CANCELS:
                continue  # an expiry or a consequence, not the outcome
            record = tracker.orders[event.order_id]  # type: ignore[union-attr]
            view = tracker.view(record)
            if kind is OrderAccepted and record.status == "CANCELED":  # at once: say why
                view["cancel_reason"] = next(
                    cancel_reason_name(e.reason) for e in events  # type: ignore[union-attr]
                    if type(e) is OrderCanceled and e.order_id == record.order_id)
            return protocol.ok(request_id, view)
        if kind is OrderRejected:
            return protocol.error(request_id, event.reason.name,  # type: ignore[union-attr]
                                  explain(event.reason, command, engine))  # type: ignore[union-attr,arg-type]
        if kind is CancelRejected:
            owned = tracker.owned(event.account, event.order_id)  # type: ignore[union-attr,arg-type]
            code = event.reason.name  # type: ignore[union-attr]
            if owned is not None and owned.terminal and code == "UNKNOWN_ORDER":
                code = Code.TOO_LATE_TO_CANCEL
            return protocol.error(request_id, code,
                                  f"order is {owned.status if owned else 'unknown'}")
        if kind is MassCanceled:
            return protocol.ok(request_id, {"count": event.count})  # type: ignore[union-attr]
        if kind is CommandRejected:
            return protocol.error(request_id, event.reason.name,  # type: ignore[union-attr]
                                  rejected_detail(event, command))  # type: ignore[arg-type]
        if kind is not OrderExpired and type(command) is not SubmitOrder:
            return protocol.ok(request_id, {"event": kind.__name__, "seq": event.seq})
    return protocol.ok(request_id, {"seq": engine.last_command_seq})
