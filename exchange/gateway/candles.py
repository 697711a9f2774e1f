"""Candles (OHLCV) and the 24 h ticker from a list of trades, sans I/O: integers in, integers out.

A trade here is `(ts_us, price, qty)` with price in price units and qty in lots, in trade order
(the ledger's seq). A candle covers `[start_us, start_us + interval_us)`, its start a multiple of
the interval since the epoch (UTC), so every client draws the same candles; a bucket without
trades has no candle (clients carry the last close forward if they want one). Busted trades are
the caller's to leave out. Costs: O(trades).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

INTERVALS_US = {"1m": 60_000_000, "5m": 300_000_000, "15m": 900_000_000,
                "1h": 3_600_000_000, "4h": 14_400_000_000, "1d": 86_400_000_000}
EXTRA_DECIMALS = 4  # VWAP: as avg_px, the instrument's decimals + 4 (docs/protocol.md)

Trade = tuple[int, int, int]  # ts_us, price units, lots


class Candle(NamedTuple):
    start_us: int
    open: int
    high: int
    low: int
    close: int
    volume: int  # lots
    trades: int


class Stats(NamedTuple):
    """What a ticker says about a window of trades (None fields: no trades)."""

    first: int | None
    last: int | None
    high: int | None
    low: int | None
    volume: int
    notional: int  # sum of price units x lots
    trades: int


def candles(trades: Iterable[Trade], interval_us: int) -> list[Candle]:
    """One candle per interval that has trades, oldest first."""
    found: list[Candle] = []
    for ts_us, price, qty in trades:
        start = ts_us - ts_us % interval_us
        if found and found[-1].start_us == start:
            last = found[-1]
            found[-1] = Candle(start, last.open, max(last.high, price), min(last.low, price),
                               price, last.volume + qty, last.trades + 1)
        else:
            found.append(Candle(start, price, price, price, price, qty, 1))
    return found


def stats(trades: Iterable[Trade]) -> Stats:
    first = last = high = low = None
    volume = notional = count = 0
    for _, price, qty in trades:
        if first is None:
            first = high = low = price
        high, low = max(high, price), min(low, price)  # type: ignore[type-var]
        last = price
        volume += qty
        notional += price * qty
        count += 1
    return Stats(first, last, high, low, volume, notional, count)


def exact_ratio(numerator: int, denominator: int, extra_decimals: int = EXTRA_DECIMALS) -> int:
    """numerator / denominator in units of 10**-extra_decimals, rounded half away from zero."""
    units, remainder = divmod(abs(numerator) * 10**extra_decimals, denominator)
    if 2 * remainder >= denominator:
        units += 1
    return -units if numerator < 0 else units
