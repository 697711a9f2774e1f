"""Engine snapshots: the whole state as bytes, and back.

`dump(engine)` writes the counters, the clock, every instrument's spec and trading state,
every firm, account and API key, the trading day's trades (for busts), and every resting order
level by level in time priority; `load(data)` rebuilds an Engine with all its indexes from
that alone. `load(dump(e)).digest() == e.digest()`, and the restored engine answers every later
command exactly as the original would.

The layout is MessagePack of a tuple whose last item is one binary blob of the resting orders,
fixed-width records written and read by one C loop each (orderblob.pyx, through
`Core.dump_orders`, `load_orders`): no Python object per order on the way out, so taking a
snapshot of a million resting orders holds the engine for tens of milliseconds. Cost: O(state).
"""

from __future__ import annotations

import contextlib
import gc
import heapq
from collections.abc import Iterator

import msgpack

from exchange.engine.commands import AddAccount, AddInstrument, IssueKey
from exchange.engine.engine import Engine
from exchange.engine.enums import CALL_STATES, Side, TradingState
from exchange.engine.instrument import Account, ApiKey, Firm, Instrument

# 3: firms' net bought and credit limits are money (10**-6 of the currency); 4: API keys;
# 5: orders grouped by level (symbol, side and price once a level, firm from the account);
# 6: the orders as one binary blob of fixed-width records (the ledger passes over snapshots
# of an older format and replays from before them); 7: the calls, volatility settings, last
# trade prices and held stops (docs/engine.md, "Trading phases and call auctions")
FORMAT = 7


class SnapshotError(ValueError):
    """The bytes are not a snapshot this engine can load."""


@contextlib.contextmanager
def _no_collection() -> Iterator[None]:
    """Build a large state without the cyclic collector: nothing built here is garbage, and a
    collection now would rescan the growing heap again and again (about half the time of a
    million-order load)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def dump(engine: Engine) -> bytes:
    with _no_collection():
        return _dump(engine)


def _dump(engine: Engine) -> bytes:
    instruments = [
        (tuple(i.spec), int(i.state), i.reference_price, i.band_ticks, i.volatility)
        for i in engine.instruments.values()
    ]
    accounts = [account.canonical() for account in engine.accounts.values()]
    numbers = {name: number for number, name in enumerate(engine.accounts)}
    firms = [firm.canonical() for firm in engine.firms.values()]
    trades = [(trade_id, *trade) for trade_id, trade in engine.day_trades.items()]
    keys = [key.canonical() for key in engine.keys.values()]
    levels, orders = engine.dump_orders(numbers)
    header = (FORMAT, engine.seq, engine.last_command_seq, engine.now_us, engine.next_order_id,
              engine.next_trade_id, engine.next_priority)
    return msgpack.packb(
        (header, instruments, accounts, levels, firms, trades, sorted(engine.busted), keys,
         orders, _dump_calls(engine)))


def _dump_calls(engine: Engine) -> tuple:
    calls = engine.calls
    last_prices = sorted((symbol, book.last_price) for symbol, book in engine.books.items()
                         if book.last_price is not None)
    return (last_prices, [(s, *end) for s, end in calls.volatility_end.items()],
            list(calls.shown.items()), sorted(calls.tracked), engine.stops.dump(),
            engine.call_ends)


def load(data: bytes) -> Engine:
    try:
        with _no_collection():
            return _load(data)
    except SnapshotError:
        raise
    except Exception as exc:  # noqa: BLE001 - any malformed input is a bad snapshot
        raise SnapshotError(f"not a valid snapshot: {exc}") from None


def _load(data: bytes) -> Engine:
    header, instruments, accounts, levels, firms, trades, busted, keys, orders, calls = (
        msgpack.unpackb(data))
    if header[0] != FORMAT:
        raise SnapshotError(f"snapshot format {header[0]}, expected {FORMAT}")
    engine = Engine()
    (_, engine.seq, engine.last_command_seq, engine.now_us, engine.next_order_id,
     engine.next_trade_id, engine.next_priority) = header
    for spec, state, reference_price, band_ticks, volatility in instruments:
        _load_instrument(engine, spec, state, reference_price, band_ticks)
        engine.instruments[spec[1]].volatility = None if volatility is None else tuple(volatility)
    for name, credit_limit, net_bought, blocked in firms:
        firm = engine.firms[name] = Firm(name)
        firm.credit_limit, firm.net_bought, firm.blocked = credit_limit, net_bought, blocked
    numbered = []
    for *fields, blocked in accounts:
        account = Account(AddAccount(0, *fields), engine.firms[fields[1]])
        account.blocked = blocked
        engine.accounts[account.account] = account
        numbered.append(account)
        engine.firms[account.firm].accounts.append(account)
        engine.state_digest.mark_member("account", account.account, account)
    engine.day_trades = {trade_id: tuple(trade) for trade_id, *trade in trades}  # type: ignore[misc]
    engine.busted = set(busted)
    for *fields, revoked in keys:
        key = engine.keys[fields[0]] = ApiKey(IssueKey(0, *fields))
        key.revoked = revoked
        engine.state_digest.mark_member("key", key.key_id, key)
    engine.load_orders(levels, orders, numbered)
    heapq.heapify(engine.gtd_queue)
    _load_calls(engine, *calls)
    engine.recount_day_notional()
    engine.digest()  # hash every other part now, as the original had
    return engine


def _load_calls(engine: Engine, last_prices: list, volatility_end: list, shown: list,
                tracked: list, stops: list, call_ends: list) -> None:
    for symbol, price in last_prices:
        engine.books[symbol].last_price = price
    calls = engine.calls
    calls.volatility_end = {symbol: (end, extended) for symbol, end, extended in volatility_end}
    calls.shown = {symbol: _figures(figures) for symbol, figures in shown}
    calls.tracked = set(tracked)
    engine.calls_open = sum(i.state in CALL_STATES for i in engine.instruments.values())
    engine.call_ends = [tuple(entry) for entry in call_ends]  # a heap already
    engine.stops.load(engine, stops)


def _figures(figures: list) -> tuple:
    """A call's shown figures as the engine keeps them (empty: none shown yet)."""
    if not figures:
        return ()
    price, volume, surplus, side = figures
    return (price, volume, surplus, None if side is None else Side(side))


def _load_instrument(engine: Engine, spec: list, state: int, reference_price: int | None,
                     band_ticks: int | None) -> None:

    instrument = Instrument(AddInstrument(*spec))
    instrument.state = TradingState(state)
    instrument.set_band(reference_price, band_ticks)
    engine.instruments[instrument.symbol] = instrument
    engine.state_digest.mark_member("instrument", instrument.symbol, instrument)

