"""OUT_ALL as a reader sees it (no servers): cluster-wide ids, and each shard's outputs folded
once and in order."""

from __future__ import annotations

import pytest

from exchange.cluster.merged import GapInMerged, MergedPosition, to_global, to_local
from exchange.cluster.names import MSG_ID
from exchange.cluster.replica import Replica
from exchange.engine.codec import encode
from exchange.engine.commands import AddAccount, SubmitOrder
from exchange.engine.enums import Side
from exchange.engine.events import TradeExecuted
from tests.cluster.harness import instrument


def test_ids_are_made_cluster_wide_and_back_and_zero_stays_zero() -> None:
    trade = TradeExecuted(7, 1, 3, "PIPE-A", 100, 2, Side.BUY, 11, "a1", 0, 12, "b1", 1)
    made = to_global(trade, 2)
    assert (made.seq, made.trade_id, made.maker_order_id, made.taker_order_id) == (
        72, 32, 112, 122)
    assert to_local(made.maker_order_id) == (11, 2)
    assert to_global(AddAccount(0, "a1", "F1"), 3) == AddAccount(0, "a1", "F1")


def outputs() -> list[bytes]:
    replica = Replica()
    commands = [instrument("PIPE-A"), AddAccount(0, "a1", "F1"),
                SubmitOrder(1, "a1", "c1", "PIPE-A", Side.BUY, 1, 100)]
    return [replica.apply(encode(command)) for command in commands]


def test_a_copy_already_folded_is_skipped_and_a_skipped_output_is_refused() -> None:
    position = MergedPosition(["A", "B"])
    a1, a2, a3 = outputs()
    folded = position.take(1, {MSG_ID: "A:1"}, a1)
    assert folded is not None and folded.shard == "A" and folded.out_seq == 1
    assert position.take(2, {MSG_ID: "A:1"}, a1) is None  # a copy again
    assert position.take(3, {"other": "x"}, a2) is None  # not a shard's output
    accepted = position.take(4, {MSG_ID: "A:2"}, a2)
    assert accepted is not None and accepted.command == AddAccount(0, "a1", "F1")
    with pytest.raises(GapInMerged):
        position.take(5, {MSG_ID: "A:4"}, a3)
    order = position.take(5, {MSG_ID: "A:3"}, a3)
    assert order is not None and order.events[0].order_id == 1 * 10 + 0
