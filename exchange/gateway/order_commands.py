"""Order-entry requests to engine commands: `new_order`, `replace_order`, `mass_cancel` and
`cancel_order` args (their Structs, schemas.py, or a map) made into SubmitOrder, AmendOrder,
MassCancel and CancelOrder. Field formats only (protocol.py's readers); the engine judges the
terms. Nothing here reads a clock: the caller passes `ts_us`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

from exchange.engine import (
    AmendOrder,
    CancelOrder,
    MassCancel,
    OrdType,
    Side,
    StpMode,
    SubmitOrder,
    TimeInForce,
)
from exchange.engine.commands import AddInstrument
from exchange.gateway import schemas
from exchange.gateway.protocol import (
    check_fields,
    choice_of,
    flag_of,
    integer_of,
    name_of,
    price_of,
    quantity_of,
    spec_of,
)
from exchange.gateway.schemas import UNSET

S = TypeVar("S", bound=msgspec.Struct)


def as_args(schema: type[S], args: Any) -> S:
    """A request's args as its op's Struct: as decoded, or made from a map (`schemas.unchecked`:
    the field readers then judge every value, its type included)."""
    if type(args) is schema:
        return args  # type: ignore[no-any-return]
    check_fields(args, schemas.field_names(schema))
    return schemas.unchecked(schema, args)


def new_order(args: Any, account: str, ts_us: int,
              specs: Mapping[str, AddInstrument]) -> SubmitOrder:
    """The SubmitOrder for a `new_order` request (a NewOrderArgs, or a map). Field formats only;
    the engine judges terms. (Positional, in SubmitOrder's field order: this runs for every
    order.)"""
    args = as_args(schemas.NewOrderArgs, args)
    spec = spec_of(specs, args.sym)
    ord_type = choice_of(args.ord_type, "ord_type", OrdType, OrdType.LIMIT)
    return SubmitOrder(
        ts_us,
        account,
        name_of(args.cl_ord_id, "cl_ord_id"),
        spec.symbol,
        choice_of(args.side, "side", Side),
        quantity_of(args.qty, "qty"),  # type: ignore[arg-type]
        price_of(args.px, "px", spec.price_decimals, required=ord_type is OrdType.LIMIT),
        ord_type,
        choice_of(args.tif, "tif", TimeInForce, TimeInForce.GTC),
        integer_of(args.expire_at_us, "expire_at_us", None),
        flag_of(args.post_only, "post_only"),
        quantity_of(args.display_qty, "display_qty", required=False),
        choice_of(args.stp, "stp", StpMode, StpMode.CANCEL_INCOMING),
    )


def cancel_order(order_id: int, account: str, ts_us: int) -> CancelOrder:
    return CancelOrder(ts_us, account, order_id)


def replace_order(args: Any, order_id: int, account: str, ts_us: int,
                  decimals: int) -> AmendOrder:
    """The AmendOrder for a `replace_order`: `qty` is the new total, `px` the new price."""
    args = as_args(schemas.ReplaceOrderArgs, args)
    return AmendOrder(
        ts_us, account, order_id,
        quantity_of(args.qty, "qty"),  # type: ignore[arg-type]
        price_of(args.px, "px", decimals),  # type: ignore[arg-type]
        name_of(args.cl_ord_id, "cl_ord_id", None),
    )


def mass_cancel(args: Any, account: str, ts_us: int,
                specs: Mapping[str, AddInstrument]) -> MassCancel:
    args = as_args(schemas.MassCancelArgs, args)
    symbol = None if args.sym is UNSET else spec_of(specs, args.sym).symbol
    return MassCancel(ts_us, account, symbol, choice_of(args.side, "side", Side, None))
