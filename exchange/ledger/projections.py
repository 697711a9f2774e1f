"""Query tables derived from events: `accounts`, `trades`, and every order's latest state.

They hold nothing the batches do not: `project_trades(events)` and `project_orders(events)` turn
a run of events into the rows and updates to write, and applying those in seq order, from
empty tables, rebuilds them (`exchange audit rebuild`). They trail the chain: the writer thread
writes them after each batch's commit (several batches at once when it is behind), off the
engine's path, and the `projected` table says up to which seq they are current (writes.py keeps
it so; a crash can leave them behind, and the next open catches up). So `list_trades` may miss
the trades of the last few milliseconds' batches. Pure: SQL text and parameters only; writes.py
executes them.

Order status uses FIX words: NEW, PARTIALLY_FILLED, FILLED, CANCELED, EXPIRED.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from exchange.engine.enums import OrdType, Side, TimeInForce
from exchange.engine.events import (
    AccountAdded,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderReplaced,
    OrderRestated,
    TradeExecuted,
)

_FIRM = "(SELECT firm FROM accounts WHERE account = ?)"
INSERT_ACCOUNT = "INSERT OR REPLACE INTO accounts (account, firm) VALUES (?, ?)"
INSERT_TRADE = (
    "INSERT INTO trades (trade_id, seq, ts_us, symbol, price, qty, aggressor_side, "
    "buyer_account, buyer_firm, seller_account, seller_firm, maker_order_id, taker_order_id) "
    f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, {_FIRM}, ?, {_FIRM}, ?, ?)")
INSERT_ORDER = (
    "INSERT INTO orders (order_id, account, cl_ord_id, symbol, side, ord_type, tif, price, qty, "
    "cum_qty, leaves_qty, status, accepted_seq, last_seq) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
# SET expressions see the old column values; NULL parameters leave a column as it was.
UPDATE_ORDER = (
    "UPDATE orders SET cum_qty = cum_qty + ?1, leaves_qty = ?2, status = coalesce(?3, CASE "
    "WHEN ?2 = 0 THEN 'FILLED' WHEN cum_qty + ?1 > 0 THEN 'PARTIALLY_FILLED' ELSE 'NEW' END), "
    "qty = coalesce(?4, qty), price = coalesce(?5, price), cl_ord_id = coalesce(?6, cl_ord_id), "
    "last_seq = ?7 WHERE order_id = ?8")

# IntEnum members of different enums compare equal (BUY == LIMIT == 1): one table each
_SIDE, _ORD_TYPE, _TIF = ({m: m.name for m in enum} for enum in (Side, OrdType, TimeInForce))

# an order's changing fields while projecting: cum added, leaves, terminal status, qty, price,
# cl_ord_id, last seq (None: unchanged)
_CUM, _LEAVES, _TERMINAL, _QTY, _PRICE, _CL_ORD_ID, _LAST = range(7)


Statements = list[tuple[str, list[Any]]]
"""(sql, parameter rows) to execute in this order; empty ones left out."""


def project_trades(events: Iterable[Any]) -> Statements:
    """The `accounts` and `trades` writes for `events` (any records; others are skipped).
    O(len(events))."""
    accounts: list[tuple[str, str]] = []
    trades: list[tuple[Any, ...]] = []
    for event in events:
        kind = type(event)
        if kind is TradeExecuted:
            trades.append(_trade_row(event))
        elif kind is AccountAdded:
            accounts.append((event.account, event.firm))
    return _statements((INSERT_ACCOUNT, accounts), (INSERT_TRADE, trades))


def project_orders(events: Iterable[Any]) -> Statements:
    """The `orders` writes for `events` (any records; others are skipped), given that the table
    already reflects every event before them. Changes to one order within `events` become one
    write. O(len(events))."""
    new: dict[int, list[Any]] = {}  # order_id -> order row (accepted within these events)
    old: dict[int, list[Any]] = {}  # order_id -> changes to an order accepted before

    def touch(order_id: int, seq: int, leaves: int, cum: int = 0, terminal: str | None = None,
              replaced: OrderReplaced | None = None) -> None:
        row = new.get(order_id)
        if row is not None:
            row[9] += cum
            row[10] = leaves
            if replaced is not None:
                row[2], row[7], row[8] = replaced.cl_ord_id, replaced.price, replaced.qty
            row[11] = terminal or _status(leaves, row[9])
            row[13] = seq
            return
        change = old.setdefault(order_id, [0, 0, None, None, None, None, 0])
        change[_CUM] += cum
        change[_LEAVES] = leaves
        change[_TERMINAL] = terminal
        if replaced is not None:
            change[_QTY], change[_PRICE] = replaced.qty, replaced.price
            change[_CL_ORD_ID] = replaced.cl_ord_id
        change[_LAST] = seq

    for event in events:
        kind = type(event)
        if kind is TradeExecuted:
            touch(event.maker_order_id, event.seq, event.maker_leaves, event.qty)
            touch(event.taker_order_id, event.seq, event.taker_leaves, event.qty)
        elif kind is OrderAccepted:
            new[event.order_id] = [
                event.order_id, event.account, event.cl_ord_id, event.symbol, _SIDE[event.side],
                _ORD_TYPE[event.ord_type], _TIF[event.tif], event.price, event.qty, 0, event.qty,
                "NEW", event.seq, event.seq]
        elif kind is OrderCanceled:
            touch(event.order_id, event.seq, 0, terminal="CANCELED")
        elif kind is OrderExpired:
            touch(event.order_id, event.seq, 0, terminal="EXPIRED")
        elif kind is OrderReplaced:
            touch(event.order_id, event.seq, event.leaves, replaced=event)
        elif kind is OrderRestated:
            touch(event.order_id, event.seq, event.leaves)
    updates = [(c[_CUM], c[_LEAVES], c[_TERMINAL], c[_QTY], c[_PRICE], c[_CL_ORD_ID], c[_LAST],
                order_id) for order_id, c in old.items()]
    return _statements((INSERT_ORDER, list(new.values())), (UPDATE_ORDER, updates))


def _statements(*pairs: tuple[str, list[Any]]) -> Statements:
    return [(sql, rows) for sql, rows in pairs if rows]


def _status(leaves: int, cum: int) -> str:
    if leaves == 0:
        return "FILLED"
    return "PARTIALLY_FILLED" if cum else "NEW"


def _trade_row(trade: TradeExecuted) -> tuple[Any, ...]:
    if trade.aggressor_side == Side.BUY:
        buyer, seller = trade.taker_account, trade.maker_account
    else:
        buyer, seller = trade.maker_account, trade.taker_account
    return (trade.trade_id, trade.seq, trade.ts_us, trade.symbol, trade.price, trade.qty,
            _SIDE[trade.aggressor_side], buyer, buyer, seller, seller, trade.maker_order_id,
            trade.taker_order_id)
