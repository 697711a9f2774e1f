"""Exporting a ledger's trades or rows as CSV or JSON lines, for spreadsheets and other tools.

Prices are decimal strings in the instrument's price decimals (`format_price`), quantities are
decimal strings of lots, enums are their names, times are both `ts_us` and ISO-8601 UTC. Only
rows of committed batches are exported; `events` writes one record per seq (a row's command,
then each of its events). Trades come from the `TradeExecuted` events themselves, not from the
projection, so an export is as trustworthy as the chain.
"""

from __future__ import annotations

import csv
import json
from bisect import bisect_left
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path
from typing import Any, TextIO

from exchange.engine import codec
from exchange.engine.commands import AddAccount, AddInstrument, BustTrade
from exchange.engine.events import AccountAdded, TradeBusted, TradeExecuted
from exchange.engine.instrument import format_price
from exchange.ledger import reader

TRADE_FIELDS = ("trade_id", "seq", "ts_us", "time", "symbol", "price", "qty", "aggressor_side",
                "buyer_account", "buyer_firm", "seller_account", "seller_firm",
                "maker_order_id", "taker_order_id", "busted")
ROW_FIELDS = ("seq", "ts_us", "time", "batch", "type", "origin", "fields")
PRICE_FIELDS = frozenset({"price", "reference_price", "tick_size"})
QTY_FIELDS = frozenset({"qty", "canceled_qty", "expired_qty", "leaves", "maker_leaves",
                        "taker_leaves", "display_qty", "min_qty", "max_qty", "max_order_qty"})
_KIND = {name: codec.KIND_OF[cls] for name, cls in
         (("instrument", AddInstrument), ("account", AddAccount), ("bust", BustTrade))}


def export(path: str | Path, what: str, fmt: str, out: TextIO, from_seq: int = 1,
           to_seq: int | None = None,
           progress: Callable[[int, int], None] | None = None) -> int:
    """Write `what` ("trades" or "events") in `fmt` ("csv" or "jsonl") to `out`; return the
    count of records written. O(rows in range), plus one pass for instruments and firms.
    `progress(seq, to_seq)` is called after each command's records."""
    conn = reader.connect(path)
    try:
        head = reader.head(conn)
        last = 0 if head is None else head.last_seq
        to_seq = last if to_seq is None else min(to_seq, last)
        decimals: dict[str, int] = {}
        for entry in _entries(conn, "instrument"):  # the first listing wins; repeats are rejected
            decimals.setdefault(entry.command.symbol, entry.command.price_decimals)
        firms = {added.account: added.firm for entry in _entries(conn, "account")
                 for added in entry.events if type(added) is AccountAdded}
        records = _records(conn, from_seq, to_seq, progress)
        if what == "trades":
            busted = _busted(conn)
            trades = (_trade(record, decimals, firms, busted) for _, _, _, record in records
                      if type(record) is TradeExecuted)
            return _write(trades, TRADE_FIELDS, fmt, out)
        batch_ends = [batch.last_seq for batch in reader.batches(conn)]
        return _write((_row(*record, decimals, batch_ends) for record in records), ROW_FIELDS,
                      fmt, out)
    finally:
        conn.close()


def busted_trade_ids(path: str | Path) -> set[int]:
    """The ids of every trade an operator busted in the ledger (accepted busts only)."""
    conn = reader.connect(path)
    try:
        return _busted(conn)
    finally:
        conn.close()


def _busted(conn: Any) -> set[int]:
    return {event.trade_id for entry in _entries(conn, "bust") for event in entry.events
            if type(event) is TradeBusted}


def _entries(conn: Any, name: str) -> Iterator[Any]:
    kind = _KIND[name]
    for row in reader.rows(conn):
        if row[2] == kind:  # the index says; only these bodies are decoded
            yield reader.entry_of(row)


def _records(conn: Any, from_seq: int, to_seq: int,
             progress: Callable[[int, int], None] | None = None
             ) -> Iterator[tuple[int, int, str | None, Any]]:
    """(seq, ts_us, origin, record) for each seq in [from_seq, to_seq]; events have no
    origin of their own."""
    for row in reader.rows(conn, reader.entry_start(conn, from_seq) - 1, to_seq):
        entry = reader.entry_of(row)
        if from_seq <= entry.seq:
            yield entry.seq, row[1], entry.origin or None, entry.command
        for event in entry.events:
            if from_seq <= event.seq <= to_seq:
                yield event.seq, event.ts_us, None, event
        if progress is not None:
            progress(entry.events[-1].seq if entry.events else entry.seq, to_seq)


def _write(records: Iterator[dict[str, Any]], fields: tuple[str, ...], fmt: str,
           out: TextIO) -> int:
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for record in records:
            if isinstance(record.get("fields"), dict):
                record["fields"] = json.dumps(record["fields"], separators=(",", ":"))
            writer.writerow(record)
            count += 1
    else:
        for record in records:
            out.write(json.dumps(record, separators=(",", ":")) + "\n")
            count += 1
    return count


def _trade(trade: TradeExecuted, decimals: dict[str, int], firms: dict[str, str],
           busted: set[int]) -> dict[str, Any]:
    buy = trade.aggressor_side.name == "BUY"
    buyer = trade.taker_account if buy else trade.maker_account
    seller = trade.maker_account if buy else trade.taker_account
    return {
        "trade_id": trade.trade_id, "seq": trade.seq, "ts_us": trade.ts_us,
        "time": iso_time(trade.ts_us), "symbol": trade.symbol,
        "price": format_price(trade.price, decimals.get(trade.symbol, 0)), "qty": str(trade.qty),
        "aggressor_side": trade.aggressor_side.name, "buyer_account": buyer,
        "buyer_firm": firms.get(buyer, ""), "seller_account": seller,
        "seller_firm": firms.get(seller, ""), "maker_order_id": trade.maker_order_id,
        "taker_order_id": trade.taker_order_id, "busted": trade.trade_id in busted,
    }


def _row(seq: int, ts_us: int, origin: str | None, record: Any, decimals: dict[str, int],
         batch_ends: list[int]) -> dict[str, Any]:
    batch = bisect_left(batch_ends, seq) + 1
    own_decimals = record.price_decimals if isinstance(record, AddInstrument) else None
    places = own_decimals if own_decimals is not None else decimals.get(
        getattr(record, "symbol", None) or "", 0)
    fields = {name: _value(name, value, places) for name, value in zip(record._fields, record)
              if name not in ("seq", "ts_us")}
    return {"seq": seq, "ts_us": ts_us, "time": iso_time(ts_us), "batch": batch,
            "type": type(record).__name__, "origin": origin, "fields": fields}


def _value(name: str, value: Any, places: int) -> Any:
    if isinstance(value, IntEnum):
        return value.name
    if type(value) is not int:
        return value
    if name in PRICE_FIELDS:
        return format_price(value, places)
    if name in QTY_FIELDS:
        return str(value)
    return value


def iso_time(ts_us: int) -> str:
    """ISO-8601 UTC with microseconds for an engine time."""
    seconds, micros = divmod(ts_us, 1_000_000)
    moment = datetime.fromtimestamp(seconds, UTC).replace(microsecond=micros)
    return moment.isoformat().replace("+00:00", "Z")
