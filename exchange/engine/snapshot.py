"""Engine snapshots: the whole state as MessagePack bytes, and back.

`dump(engine)` writes the counters, the clock, every instrument's spec and trading state,
every firm, account and API key, every resting order level by level in time priority, and the
trading day's trades (for busts); `load(data)` rebuilds
an Engine with all its indexes from that alone. `load(dump(e)).digest() == e.digest()`, and the
restored engine answers every later command exactly as the original would. Cost: O(state).
"""

from __future__ import annotations

import contextlib
import gc
import heapq
from collections.abc import Iterator

import msgpack

from exchange.engine.book import Order
from exchange.engine.commands import AddAccount, AddInstrument, IssueKey
from exchange.engine.engine import Engine
from exchange.engine.enums import TradingState
from exchange.engine.instrument import Account, ApiKey, Firm, Instrument

# 3: firms' net bought and credit limits are money (10**-6 of the currency); 4: API keys;
# 5: orders grouped by level (symbol, side and price once a level, firm from the account)
FORMAT = 5


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
        (tuple(i.spec), int(i.state), i.reference_price, i.band_ticks)
        for i in engine.instruments.values()
    ]
    accounts = [account.canonical() for account in engine.accounts.values()]
    firms = [firm.canonical() for firm in engine.firms.values()]
    trades = [(trade_id, *trade) for trade_id, trade in engine.day_trades.items()]
    keys = [key.canonical() for key in engine.keys.values()]
    levels = [
        (symbol, int(ladder.side), level.price, [_order_row(o) for o in level.orders.values()])
        for symbol, book in engine.books.items() for ladder in (book.bids, book.asks)
        for level in ladder
    ]
    header = (FORMAT, engine.seq, engine.last_command_seq, engine.now_us, engine.next_order_id,
              engine.next_trade_id, engine.next_priority)
    return msgpack.packb(
        (header, instruments, accounts, levels, firms, trades, sorted(engine.busted), keys))


def _order_row(order: Order) -> tuple:
    """An order's state less what its level and account give (symbol, side, price, firm)."""
    return (order.order_id, order.account, order.cl_ord_id, int(order.ord_type), order.qty,
            order.leaves, order.visible, order.display_qty, int(order.tif), order.expire_at_us,
            order.post_only, int(order.stp), order.priority)


def load(data: bytes) -> Engine:
    try:
        with _no_collection():
            return _load(data)
    except SnapshotError:
        raise
    except Exception as exc:  # noqa: BLE001 - any malformed input is a bad snapshot
        raise SnapshotError(f"not a valid snapshot: {exc}") from None


def _load(data: bytes) -> Engine:
    header, instruments, accounts, levels, firms, trades, busted, keys = msgpack.unpackb(data)
    if header[0] != FORMAT:
        raise SnapshotError(f"snapshot format {header[0]}, expected {FORMAT}")
    engine = Engine()
    (_, engine.seq, engine.last_command_seq, engine.now_us, engine.next_order_id,
     engine.next_trade_id, engine.next_priority) = header
    for spec, state, reference_price, band_ticks in instruments:
        _load_instrument(engine, spec, state, reference_price, band_ticks)
    for name, credit_limit, net_bought, blocked in firms:
        firm = engine.firms[name] = Firm(name)
        firm.credit_limit, firm.net_bought, firm.blocked = credit_limit, net_bought, blocked
    for *fields, blocked in accounts:
        account = Account(AddAccount(0, *fields), engine.firms[fields[1]])
        account.blocked = blocked
        engine.accounts[account.account] = account
        engine.firms[account.firm].accounts.append(account)
        engine.state_digest.mark_member("account", account.account, account)
    engine.day_trades = {trade_id: tuple(trade) for trade_id, *trade in trades}  # type: ignore[misc]
    engine.busted = set(busted)
    for *fields, revoked in keys:
        key = engine.keys[fields[0]] = ApiKey(IssueKey(0, *fields))
        key.revoked = revoked
        engine.state_digest.mark_member("key", key.key_id, key)
    engine.load_levels(levels)
    heapq.heapify(engine.gtd_queue)
    engine.recount_notional()
    engine.digest()  # hash every other part now, as the original had
    return engine


def _load_instrument(engine: Engine, spec: list, state: int, reference_price: int | None,
                     band_ticks: int | None) -> None:

    instrument = Instrument(AddInstrument(*spec))
    instrument.state = TradingState(state)
    instrument.set_band(reference_price, band_ticks)
    engine.instruments[instrument.symbol] = instrument
    engine.state_digest.mark_member("instrument", instrument.symbol, instrument)

