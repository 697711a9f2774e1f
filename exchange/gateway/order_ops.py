"""The order ops: new, cancel, replace, mass cancel, and reading orders (status, open orders).

Each checks its arguments (protocol.py) before anything reaches the engine task; the work that
needs the venue's state (a resent cl_ord_id, an order named by cl_ord_id) runs there, as the
request's turn comes, and its answer is sent once its batch is durable.
"""

from __future__ import annotations

from typing import Any

from exchange.gateway import listing, order_commands, protocol, stops
from exchange.gateway.handlers import readable_account, submit, visible
from exchange.gateway.jobs import now_us
from exchange.gateway.orders import OrderRecord
from exchange.gateway.protocol import Code, Request, RequestError
from exchange.gateway.schemas import UNSET, NewOrderArgs, ReplaceOrderArgs
from exchange.gateway.session import Session
from exchange.gateway.venue import Venue


async def new_order(venue: Venue, session: Session, request: Request) -> None:
    account = session.account
    args = order_commands.as_args(NewOrderArgs, request.args)
    make = stops.stop_order if stops.is_stop(args) else order_commands.new_order
    command = make(args, account, now_us(), venue.tracker.specs)  # type: ignore[arg-type]

    def work(venue: Venue) -> Any:
        known = venue.tracker.find(account, command.cl_ord_id)  # type: ignore[arg-type]
        if known is None:
            return command
        return _existing(venue, known)

    await submit(venue, session, request, work)


def _existing(venue: Venue, record: OrderRecord) -> dict[str, Any]:
    """The answer to a resent cl_ord_id: the order's status now, never a second order."""
    if record.reject_reason is not None:
        raise RequestError(record.reject_reason.name,
                           "duplicate cl_ord_id: that order was rejected")
    view = venue.tracker.view(record)
    view["duplicate"] = True
    return view


def _resolve(venue: Venue, account: str, order_id: int | None,
             cl_ord_id: str | None) -> OrderRecord:
    """The account's own order named by id or cl_ord_id (engine task only)."""
    tracker = venue.tracker
    record = tracker.owned(account, order_id) if order_id is not None else tracker.find(
        account, cl_ord_id)  # type: ignore[arg-type]
    if record is None or record.order_id is None:
        raise RequestError(Code.UNKNOWN_ORDER, "no such order")
    if record.terminal:
        raise RequestError(Code.TOO_LATE_TO_CANCEL, f"order is {record.status}")
    return record


async def cancel_order(venue: Venue, session: Session, request: Request) -> None:
    account = session.account
    order_id, cl_ord_id = protocol.order_ref(request.args)
    ts_us = now_us()

    def work(venue: Venue) -> Any:
        if order_id is not None and venue.tracker.owned(account, order_id) is None:  # type: ignore[arg-type]
            return order_commands.cancel_order(order_id, account, ts_us)  # type: ignore[arg-type]
        record = _resolve(venue, account, order_id, cl_ord_id)  # type: ignore[arg-type]
        return order_commands.cancel_order(record.order_id, account, ts_us)  # type: ignore[arg-type]

    await submit(venue, session, request, work)


async def replace_order(venue: Venue, session: Session, request: Request) -> None:
    account = session.account
    args = order_commands.as_args(ReplaceOrderArgs, request.args)
    order_id, cl_ord_id = protocol.order_ref_of(args.order_id, args.orig_cl_ord_id, UNSET)
    new_id = protocol.name_of(args.cl_ord_id, "cl_ord_id", None)
    protocol.quantity_of(args.qty, "qty")  # the format now, the price once the order is known
    ts_us = now_us()

    def work(venue: Venue) -> Any:
        tracker = venue.tracker
        if new_id is not None:
            known = tracker.find(account, new_id)  # type: ignore[arg-type]
            if known is not None:
                if order_id in (None, known.order_id) and cl_ord_id in (None, known.cl_ord_id) \
                        or cl_ord_id is not None and tracker.find(account, cl_ord_id) is known:  # type: ignore[arg-type]
                    return _existing(venue, known)
                raise RequestError(Code.DUPLICATE_ORDER, f"cl_ord_id {new_id!r} is taken")
        record = _resolve(venue, account, order_id, cl_ord_id)  # type: ignore[arg-type]
        decimals = tracker.specs[record.symbol].price_decimals
        return order_commands.replace_order(args, record.order_id, account, ts_us, decimals)  # type: ignore[arg-type]

    await submit(venue, session, request, work)


async def mass_cancel(venue: Venue, session: Session, request: Request) -> None:
    command = order_commands.mass_cancel(request.args, session.account, now_us(),  # type: ignore[arg-type]
                                   venue.tracker.specs)
    await submit(venue, session, request, command)


async def order_status(venue: Venue, session: Session, request: Request) -> None:
    args = request.args
    order_id, cl_ord_id = protocol.order_ref(args)
    account = readable_account(venue, session, args.get("account"))

    def work(venue: Venue) -> Any:
        tracker = venue.tracker
        if order_id is not None:
            record = tracker.orders.get(order_id)
            if record is not None and "account" in args and record.account != account:
                record = None
        elif account is None:
            raise RequestError(Code.BAD_REQUEST, "account is required with cl_ord_id")
        else:
            record = tracker.find(account, cl_ord_id)  # type: ignore[arg-type]
        return tracker.view(visible(venue, session, record))

    await submit(venue, session, request, work, query=True)


async def open_orders(venue: Venue, session: Session, request: Request) -> None:
    args = request.args
    account = readable_account(venue, session, args.get("account"))
    symbol = protocol.name(args, "sym", None)

    limit, after = listing.page_args(args)

    def work(venue: Venue) -> Any:  # paged by order id (listing.py)
        return listing.open_orders_page(venue.tracker, [account] if account else None, symbol,
                                        limit, after)

    await submit(venue, session, request, work, query=True)
