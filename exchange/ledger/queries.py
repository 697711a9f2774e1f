"""Reading the projections for the gateway's views, checked: a row that is not what the tables
promise (a wrong type, an unknown instrument, a side that is neither BUY nor SELL) is a
LedgerError naming its seq, never an exception from whoever formats it. The projections are
derived data anyone with write access can change; `exchange audit verify` compares them with a
rebuild, `exchange audit rebuild` regenerates them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Container
from pathlib import Path
from typing import NamedTuple

from exchange.ledger import reader
from exchange.ledger.schema import LedgerError

SIDES = ("BUY", "SELL")


class TradeRow(NamedTuple):
    trade_id: int
    seq: int
    ts_us: int
    symbol: str
    price: int
    qty: int
    aggressor_side: str
    buyer_account: str
    seller_account: str


_TYPES = (int, int, int, str, int, int, str, str, str)
SELECT_TRADES = ("SELECT trade_id, seq, ts_us, symbol, price, qty, aggressor_side, "
                 "buyer_account, seller_account FROM trades")


def trades(path: str | Path, symbol: str | None, since_us: int, limit: int,
           symbols: Container[str], after_seq: int = 0, newest: bool = False,
           account: str | None = None) -> list[TradeRow]:
    """Up to `limit` trades from the `trades` projection, oldest first, at or after `since_us`
    and after `after_seq` (a page's cursor), of `symbol` only, if given; `newest`: the last
    `limit` of them instead of the first; `account`: only its trades (either side). Each is
    checked (its symbol in `symbols`). LedgerError for a file that does not read or a row that
    is not a trade. O(limit), or O(rows scanned) with `account`."""
    sql = SELECT_TRADES + " WHERE ts_us >= ? AND seq > ?"
    params: list[object] = [since_us, after_seq]
    if symbol is not None:
        sql += " AND symbol = ?"
        params.append(symbol)
    if account is not None:
        sql += " AND (buyer_account = ? OR seller_account = ?)"
        params += [account, account]
    sql += " ORDER BY seq DESC LIMIT ?" if newest else " ORDER BY seq LIMIT ?"
    conn = reader.connect(path)
    try:
        found = conn.execute(sql, [*params, limit]).fetchall()
    except sqlite3.DatabaseError as exc:
        raise LedgerError(f"the trades projection does not read ({exc})") from None
    finally:
        conn.close()
    if newest:
        found.reverse()
    return [_trade(row, symbols) for row in found]


def _trade(row: tuple, symbols: Container[str]) -> TradeRow:
    if len(row) != len(_TYPES) or any(type(v) is not t for v, t in zip(row, _TYPES, strict=True)):
        raise _bad(row, "a column of the wrong type")
    trade = TradeRow(*row)
    if trade.symbol not in symbols:
        raise _bad(row, f"instrument {trade.symbol!r}, which the venue does not list")
    if trade.aggressor_side not in SIDES:
        raise _bad(row, f"aggressor side {trade.aggressor_side!r}")
    return trade


def _bad(row: tuple, what: str) -> LedgerError:
    seq = row[1] if len(row) > 1 and type(row[1]) is int else None
    at = f"seq {seq}: " if seq is not None else ""
    return LedgerError(f"{at}the trades projection's row for trade {row[0]!r} holds {what} "
                       "(`exchange audit verify` checks the projections)", seq)
