"""Which shard a gateway's command goes to, with its ids made shard-local again (pure).

Orders, instrument commands and a mass cancel of one instrument go by their symbol (the route
map: `OrderEntry.shard_of`); a cancel, a replace or a trade bust names its shard in the last digit
of its cluster-wide id (merged.py); account, key and day commands and a mass cancel of every
instrument go to every shard. Anything else is not for a cluster gateway.
"""

from __future__ import annotations

from typing import Any

from exchange.cluster.merged import to_local
from exchange.cluster.order_entry import EVERY_SHARD
from exchange.engine.commands import (
    AddInstrument,
    AmendOrder,
    BustTrade,
    CancelOrder,
    MassCancel,
    SetPriceBand,
    SetTradingState,
    SubmitOrder,
)
from exchange.gateway.protocol import Code, RequestError

BY_SYMBOL = (SubmitOrder, AddInstrument, SetTradingState, SetPriceBand)


def shard_commands(command: Any, shard_at: dict[int, str], shards: list[str]
                   ) -> list[tuple[str | None, Any]]:
    """(shard, the command as that shard takes it) for each shard it goes to; shard None: the
    one its symbol is routed to. RequestError if it names no shard or is not for a cluster."""
    kind = type(command)
    if kind in (CancelOrder, AmendOrder):
        local, index = to_local(command.order_id)
        if index not in shard_at or not local:
            raise RequestError(Code.UNKNOWN_ORDER, "no such order")
        return [(shard_at[index], command._replace(order_id=local))]
    if kind is BustTrade:
        local, index = to_local(command.trade_id)
        if index not in shard_at or not local:
            raise RequestError(Code.BAD_REQUEST, "no such trade")
        return [(shard_at[index], command._replace(trade_id=local))]
    if kind in BY_SYMBOL or (kind is MassCancel and command.symbol is not None):
        return [(None, command)]
    if kind in EVERY_SHARD or kind is MassCancel:
        return [(shard, command) for shard in shards]
    raise RequestError(Code.NOT_SUPPORTED,
                       f"{kind.__name__} is not available on a cluster gateway")
