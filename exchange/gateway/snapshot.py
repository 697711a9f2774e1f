"""The gateway's own part of a ledger snapshot: what the engine's snapshot does not hold. Pure.

The order tracker (every order record, the cl_ord_id index, each account's exec_seq, the day's
trades for busts) and each market-data feed (its book of displayed levels, book seq, last
trade id, time) are functions of the ledger's entries, like the engine. Saved beside the
engine's snapshot at the same seq, they let a restart replay only the entries after it instead
of the whole history; the instrument specs come from the recovered engine (they only grow).
`load(dump(t, m), engine)` equals `t, m` (`tests/gateway/test_restart.py` compares a venue
restarted from a snapshot with one rebuilt from every entry). Cost: O(records + feeds).
"""

from __future__ import annotations

from collections.abc import Mapping

import msgpack

from exchange.engine import AddInstrument, Side
from exchange.engine.enums import members
from exchange.engine.reasons import Reject
from exchange.gateway.marketdata import InstrumentFeed, MarketData
from exchange.gateway.orders import OrderRecord, OrderTracker
from exchange.gateway.schedule import Timetable

FORMAT = 1
_SIDES, _REJECTS = members(Side), members(Reject)


class GatewaySnapshotError(ValueError):
    """The bytes are not a gateway snapshot this version can load."""


def dump(tracker: OrderTracker, market: MarketData, timetable: Timetable | None = None) -> bytes:
    records: list[OrderRecord] = list(tracker.orders.values())
    index = {id(record): n for n, record in enumerate(records)}
    for known in tracker.by_cl_ord_id.values():  # rejected orders are only named there
        for record in known.values():
            if id(record) not in index:
                index[id(record)] = len(records)
                records.append(record)
    names = [(account, cl_ord_id, index[id(record)])
             for account, known in tracker.by_cl_ord_id.items()
             for cl_ord_id, record in known.items()]
    feeds = [(symbol, feed.book.decimals, feed.seq, feed.last_trade_id, feed.ts_us,
              feed.book.top(True, None), feed.book.top(False, None), feed.auction.dump())
             for symbol, feed in market.feeds.items()]
    return msgpack.packb((
        FORMAT, [_record_row(record) for record in records], len(tracker.orders), names,
        list(tracker.exec_seq.items()), [(t, *pair) for t, pair in tracker.trades.items()],
        list(tracker.open_orders), feeds,
        list((timetable or Timetable()).schedules.items())))  # appended: older ones end before


def load(data: bytes, specs: Mapping[str, AddInstrument]) -> tuple[OrderTracker, MarketData]:
    """The tracker and market data `dump` saved, the tracker knowing `specs` (the recovered
    engine's instruments' specs: a superset of those at the snapshot)."""
    try:
        (version, rows, accepted, names, exec_seq, trades, open_accounts,
         feeds, *_) = msgpack.unpackb(data)
        if version != FORMAT:
            raise GatewaySnapshotError(f"gateway snapshot format {version}, expected {FORMAT}")
        tracker = OrderTracker(specs)
        records = [_record(row) for row in rows]
        tracker.orders = {record.order_id: record for record in records[:accepted]}  # type: ignore[misc]
        for account, cl_ord_id, n in names:
            tracker.by_cl_ord_id.setdefault(account, {})[cl_ord_id] = records[n]
        tracker.open_orders = {account: {} for account in open_accounts}
        for record in records[:accepted]:
            if not record.terminal:
                tracker.open_orders[record.account][record.order_id] = record  # type: ignore[index]
        tracker.exec_seq = dict(exec_seq)
        tracker.trades = {trade_id: (maker, taker) for trade_id, maker, taker in trades}
        market = MarketData()
        for symbol, decimals, seq, last_trade_id, ts_us, bids, asks, *auction in feeds:
            feed = market.feeds[symbol] = InstrumentFeed(symbol, decimals)
            if auction:  # older snapshots end before it: the venue sets phases from the engine
                feed.auction.load(auction[0])
            feed.seq, feed.first_pending = seq, seq + 1
            feed.last_trade_id, feed.ts_us = last_trade_id, ts_us
            for is_bid, levels in ((True, bids), (False, asks)):
                for price, qty in levels:
                    feed.book.set(is_bid, price, qty)
            feed.bbo = (feed.book.best(True), feed.book.best(False))
        return tracker, market
    except GatewaySnapshotError:
        raise
    except Exception as exc:  # noqa: BLE001 - any malformed input is a bad snapshot
        raise GatewaySnapshotError(f"not a valid gateway snapshot: {exc}") from None


def load_timetable(data: bytes) -> Timetable:
    """The schedules `dump` saved (none in a snapshot from before schedules)."""
    try:
        saved = msgpack.unpackb(data)
        return Timetable(dict(saved[8]) if len(saved) > 8 else {})
    except Exception as exc:  # noqa: BLE001 - any malformed input is a bad snapshot
        raise GatewaySnapshotError(f"not a valid gateway snapshot: {exc}") from None


def _record_row(record: OrderRecord) -> tuple:
    return (record.order_id, record.account, record.cl_ord_id, record.symbol,
            None if record.side is None else int(record.side), record.ord_type, record.tif,
            record.qty, record.price, record.cum_qty, record.busted_qty, record.leaves,
            record.notional, record.status,
            None if record.reject_reason is None else int(record.reject_reason),
            record.transact_time_us, record.stop_price)


def _record(row: list) -> OrderRecord:
    (order_id, account, cl_ord_id, symbol, side, ord_type, tif, qty, price, cum_qty, busted_qty,
     leaves, notional, status, reject_reason, transact_time_us, *stop) = row
    record = OrderRecord(order_id, account, cl_ord_id, symbol)
    record.side = None if side is None else _SIDES[side]
    record.ord_type, record.tif, record.qty, record.price = ord_type, tif, qty, price
    record.cum_qty, record.busted_qty, record.leaves = cum_qty, busted_qty, leaves
    record.notional, record.status = notional, status
    record.reject_reason = None if reject_reason is None else _REJECTS[reject_reason]
    record.transact_time_us = transact_time_us
    record.stop_price = stop[0] if stop else None  # older snapshots end before it
    return record
