"""The pure parts without sockets: the order tracker, token buckets, the key store, and the
gateway's part of a snapshot."""

from __future__ import annotations

import pytest

from exchange import demo
from exchange.engine import (
    AddAccount,
    BustTrade,
    CancelOrder,
    Engine,
    MassCancel,
    RevokeKey,
    Side,
    SubmitOrder,
    snapshot,
)
from exchange.gateway import snapshot as gateway_snapshot
from exchange.gateway.keys import KeyStore, new_key
from exchange.gateway.marketdata import MarketData
from exchange.gateway.orders import OrderTracker
from exchange.gateway.ratelimit import TokenBucket


def entries() -> list:
    engine = Engine()
    commands = [*demo.setup(), *demo.order_flow(600)]
    commands += [CancelOrder(2_000_000 + n, "AGRO-1", n) for n in range(1, 200, 3)]
    commands += [MassCancel(3_000_000, "MILL-1")]
    return [(command, engine.apply(command)) for command in commands], engine


def test_the_tracker_gives_the_same_reports_when_the_ledger_is_replayed() -> None:
    log, engine = entries()
    first, second = OrderTracker(), OrderTracker()
    reports = [first.apply(*entry) for entry in log]
    assert reports == [second.apply(*entry) for entry in log]
    first.check()
    live = {(o.account, o.order_id) for o in engine.orders.values()}
    assert live == {(r.account, r.order_id) for orders in first.open_orders.values()
                    for r in orders.values()}
    for account, last in first.exec_seq.items():
        seqs = [r["exec_seq"] for batch in reports for owner, r in batch if owner == account]
        assert seqs == list(range(1, last + 1))


def test_reports_keep_the_fix_invariants() -> None:
    log, _ = entries()
    tracker = OrderTracker()
    for entry in log:
        for _, report in tracker.apply(*entry):
            if report["exec_type"] in ("REJECTED", "CANCEL_REJECTED"):
                continue
            order_qty, cum, leaves = (int(report[k]) for k in ("order_qty", "cum_qty",
                                                               "leaves_qty"))
            if report["ord_status"] in ("NEW", "PARTIALLY_FILLED"):
                assert order_qty == cum + leaves
            else:
                assert leaves == 0


def test_market_data_books_equal_the_engines_books() -> None:
    log, engine = entries()
    market = MarketData()
    for command, events in log:
        market.apply(command, events)
    for symbol, book in engine.books.items():
        feed = market.feeds[symbol].book
        feed.check()
        assert feed.top(True, None) == [(lv.price, lv.total) for lv in book.bids]
        assert feed.top(False, None) == [(lv.price, lv.total) for lv in book.asks]


def test_a_token_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    bucket = TokenBucket(rate=10, burst=3, now_s=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.1) and not bucket.take(0.1)
    assert bucket.take(100.0) and bucket.remaining() == 2


def test_keys_are_held_hashed_by_the_engine_and_verified_until_revoked() -> None:
    engine = Engine()
    engine.apply(AddAccount(1, "AGRO-1", "AGROTRADE"))
    command, key = new_key(2, "trader", "AGRO-1", "k1")
    secret = key.split(".", 1)[1]
    assert key.startswith("k1.") and secret not in repr(command)
    assert [type(e).__name__ for e in engine.apply(command)] == ["KeyIssued"]
    store = KeyStore(engine.keys)
    assert store.verify(key) == ("k1", "trader", "AGRO-1")
    assert store.verify(key + "x") is None and store.verify("k1") is None
    assert store.verify(None) is None and store.verify("k1." + "x" * 300) is None
    assert store.list() == [{"key_id": "k1", "role": "trader", "account": "AGRO-1",
                             "revoked": False}]
    other_command, other = new_key(3, "auditor", None)
    engine.apply(other_command)
    engine.apply(RevokeKey(4, "k1"))
    assert store.verify(key) is None
    assert {k["key_id"]: k["revoked"] for k in store.list()} == {"k1": True, other_command.key_id: False}
    recovered = KeyStore(snapshot.load(snapshot.dump(engine)).keys)
    assert recovered.verify(key) is None and recovered.verify(other).role == "auditor"  # type: ignore[union-attr]


def test_the_gateway_state_saved_midway_then_the_rest_equals_every_entry() -> None:
    log, engine = entries()
    trade_id = next(iter(engine.day_trades))
    symbol = demo.INSTRUMENTS[0].symbol
    extra = [BustTrade(4_000_000, trade_id, "fat finger"),
             SubmitOrder(4_000_001, "AGRO-1", "too-big", symbol, Side.BUY, 10**9, 1)]  # rejected
    log += [(command, engine.apply(command)) for command in extra]
    assert {type(e).__name__ for _, events in log[-2:] for e in events} >= {
        "TradeBusted", "OrderRejected"}
    half = len(log) // 2
    everything = OrderTracker(), MarketData()
    for command, events in log:
        everything[0].apply(command, events, ())
        everything[1].apply(command, events)
    midway = OrderTracker(), MarketData()
    for command, events in log[:half]:
        midway[0].apply(command, events, ())
        midway[1].apply(command, events)
    midway[1].discard_pending()
    specs = {name: i.spec for name, i in engine.instruments.items()}
    tracker, market = gateway_snapshot.load(gateway_snapshot.dump(*midway), specs)
    for command, events in log[half:]:
        tracker.apply(command, events, ())
        market.apply(command, events)
    market.discard_pending()
    everything[1].discard_pending()
    assert gateway_snapshot.dump(tracker, market) == gateway_snapshot.dump(*everything)
    tracker.check()
    assert tracker.view(tracker.find("AGRO-1", "too-big")) == everything[0].view(  # type: ignore[arg-type]
        everything[0].find("AGRO-1", "too-big"))  # type: ignore[arg-type]
    with pytest.raises(gateway_snapshot.GatewaySnapshotError):
        gateway_snapshot.load(b"\x93\x01\x02", specs)
