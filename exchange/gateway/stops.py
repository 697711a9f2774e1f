"""Stop and stop-limit orders at the edge: a `new_order` with `ord_type` STOP or STOP_LIMIT
becomes one `SubmitStopOrder`. Field formats only; the engine judges the terms (a stop price
off the tick, out of range or already reached is INVALID_STOP_PRICE; a tif other than GTC or
DAY is refused: docs/engine.md).

Fields (docs/protocol.md, "Stop orders"): `stop_px` (required: the trigger, at the
instrument's decimals), `px` (required for STOP_LIMIT: the limit of the order it becomes;
refused for STOP, which becomes a market order), `tif` (GTC by default), `stp`. A stop has no
`post_only`, `display_qty` or `expire_at_us`: each is BAD_REQUEST, as `stop_px` is on any
other order type. Cost: O(1), and one comparison for an order that is not a stop.
"""

from __future__ import annotations

from collections.abc import Mapping

from exchange.engine.commands import AddInstrument, SubmitStopOrder
from exchange.engine.enums import OrdType, Side, StpMode, TimeInForce
from exchange.gateway import protocol
from exchange.gateway.protocol import Code, RequestError
from exchange.gateway.schemas import UNSET, NewOrderArgs

STOP_TYPES = frozenset(("STOP", "STOP_LIMIT"))
_NOT_FOR_STOPS = ("post_only", "display_qty", "expire_at_us")


def is_stop(args: NewOrderArgs) -> bool:
    """Whether a new_order asks for a stop; `stop_px` on another order type is BAD_REQUEST."""
    if type(args.ord_type) is str and args.ord_type in STOP_TYPES:
        return True
    if args.stop_px is not UNSET and args.stop_px is not None:
        raise RequestError(Code.BAD_REQUEST, "stop_px is for ord_type STOP or STOP_LIMIT")
    return False


def stop_order(args: NewOrderArgs, account: str, ts_us: int,
               specs: Mapping[str, AddInstrument]) -> SubmitStopOrder:
    spec = protocol.spec_of(specs, args.sym)
    ord_type = OrdType[args.ord_type]  # type: ignore[misc]  # one of STOP_TYPES (is_stop)
    for key in _NOT_FOR_STOPS:
        if getattr(args, key) not in (UNSET, None, False):
            raise RequestError(Code.BAD_REQUEST, f"a {ord_type.name} order takes no {key}")
    decimals = spec.price_decimals
    if ord_type is OrdType.STOP and args.px not in (UNSET, None):
        raise RequestError(Code.BAD_REQUEST, "a STOP order takes no px (it becomes a market "
                                             "order when triggered); STOP_LIMIT takes one")
    return SubmitStopOrder(
        ts_us, account, protocol.name_of(args.cl_ord_id, "cl_ord_id"), spec.symbol,
        protocol.choice_of(args.side, "side", Side),
        protocol.quantity_of(args.qty, "qty"),  # type: ignore[arg-type]
        protocol.price_of(args.stop_px, "stop_px", decimals),  # type: ignore[arg-type]
        protocol.price_of(args.px, "px", decimals, required=ord_type is OrdType.STOP_LIMIT),
        protocol.choice_of(args.tif, "tif", TimeInForce, TimeInForce.GTC),
        protocol.choice_of(args.stp, "stp", StpMode, StpMode.CANCEL_INCOMING))
