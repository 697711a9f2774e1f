"""Risk controls (docs/engine.md, "Operator commands"): a firm's credit limit on buys, kill
switches on firms and accounts, trade busts, and trading days; and that a snapshot and the
digest carry all of it."""

from __future__ import annotations

from typing import Any

import pytest

from exchange.engine import snapshot
from exchange.engine.commands import (
    AddAccount,
    AmendOrder,
    BustTrade,
    CancelOrder,
    MassCancel,
    SetAccountLimits,
    SetCreditLimit,
    SetKillSwitch,
    SetPriceBand,
    SetTradingState,
    StartTradingDay,
)
from exchange.engine.engine import Engine
from exchange.engine.enums import TradingState
from exchange.engine.events import (
    CreditLimitSet,
    KillSwitchSet,
    OrderCanceled,
    TradeBusted,
    TradeExecuted,
    TradingDayStarted,
)
from exchange.engine.reasons import CancelReason, Reject
from tests.engine.helpers import (
    SCALE,
    SYMBOL,
    book,
    buy,
    instrument,
    kinds,
    only,
    sell,
    state,
    venue,
)


def rejected(engine: Engine, command: Any) -> Reject:
    """The reason of the one rejection event the command answers with."""
    events = engine.apply(command)
    assert len(events) == 1 and kinds(events)[0].endswith("Rejected"), events
    return events[0].reason


def accepted(engine: Engine, command: Any) -> list[Any]:
    events = engine.apply(command)
    assert kinds(events)[0] in ("OrderAccepted", "OrderReplaced"), events
    return events


def limited(limit: int, *commands: Any) -> Engine:
    """A venue where firm F1 (accounts a1, a2) has a credit limit of `limit` price units x lots
    of the instrument (`limit * SCALE` in money), then `commands` applied."""
    return venue(SetCreditLimit(0, "F1", limit * SCALE), *commands)


# -- credit limit ----------------------------------------------------------------------------


def test_set_credit_limit_answers_credit_limit_set() -> None:
    engine = venue()
    events = engine.apply(SetCreditLimit(1, "F1", 5_000))
    assert events == [CreditLimitSet(engine.seq, 1, "F1", 5_000)]
    assert engine.firms["F1"].credit_limit == 5_000


def test_set_credit_limit_of_an_unknown_firm_is_rejected() -> None:
    assert rejected(venue(), SetCreditLimit(1, "F9", 5_000)) is Reject.UNKNOWN_FIRM


@pytest.mark.parametrize("limit", [0, -1, 100.0, True, "100", 2**63])
def test_a_credit_limit_is_a_positive_integer_or_none(limit: Any) -> None:
    assert rejected(venue(), SetCreditLimit(1, "F1", limit)) is Reject.INVALID_FIELD


def test_a_buy_up_to_the_credit_limit_is_accepted_and_past_it_is_rejected() -> None:
    engine = limited(1_000)
    assert rejected(engine, buy("a1", 11, 91)) is Reject.CREDIT_LIMIT  # 1,001
    accepted(engine, buy("a1", 10, 100))  # 1,000: at the limit, not past it


def test_the_credit_check_counts_open_buys_of_every_account_of_the_firm() -> None:
    engine = limited(1_000, buy("a1", 5, 100))
    assert rejected(engine, buy("a2", 6, 100)) is Reject.CREDIT_LIMIT
    accepted(engine, buy("a2", 5, 100))
    accepted(engine, buy("b1", 50, 100))  # another firm: no limit


def test_the_credit_check_counts_the_net_bought_notional_of_the_day() -> None:
    engine = limited(1_000, sell("b1", 6, 100), buy("a1", 6, 100))  # bought 600, nothing open
    assert engine.firms["F1"].net_bought == 600 * SCALE
    assert engine.firms["F2"].net_bought == -600 * SCALE
    assert rejected(engine, buy("a1", 5, 100)) is Reject.CREDIT_LIMIT
    accepted(engine, buy("a1", 4, 100))


def test_selling_lowers_net_bought_and_sells_are_never_credit_checked() -> None:
    engine = limited(1_000, sell("b1", 6, 100), buy("a1", 6, 100), buy("b1", 20, 100))
    accepted(engine, sell("a1", 30, 100))  # sells 20 to b1, rests 10: not checked
    assert engine.firms["F1"].net_bought == (600 - 2_000) * SCALE
    accepted(engine, buy("a2", 20, 100))  # -1,400 + 2,000


def test_a_resting_buy_leaves_open_notional_as_it_fills() -> None:
    engine = limited(1_000, buy("a1", 10, 100), sell("b1", 4, 100))
    # 6 lots open, 4 bought: still 1,000 in use
    assert rejected(engine, buy("a1", 1, 1)) is Reject.CREDIT_LIMIT
    engine.apply(CancelOrder(1, "a1", 1))
    accepted(engine, buy("a1", 6, 100))


def test_a_market_buy_is_priced_at_the_band_edge_for_the_credit_check() -> None:
    engine = limited(1_000, SetPriceBand(0, SYMBOL, 100, 25), sell("b1", 20, 90))
    assert rejected(engine, buy("a1", 9, None)) is Reject.CREDIT_LIMIT  # 9 x 125 = 1,125
    events = accepted(engine, buy("a1", 8, None))  # 8 x 125 = 1,000, trades at 90
    assert only(events, TradeExecuted)[0].price == 90
    assert engine.firms["F1"].net_bought == 720 * SCALE


def test_a_market_buy_with_no_band_is_rejected_for_a_firm_with_a_credit_limit() -> None:
    engine = limited(10**9, sell("b1", 20, 90), buy("c1", 5, 80))
    assert rejected(engine, buy("a1", 1, None)) is Reject.CREDIT_LIMIT
    accepted(engine, sell("a1", 1, None))  # a market sell is not checked
    accepted(engine, buy("c1", 1, None))  # a firm without a limit may send one


def test_the_credit_check_comes_after_account_limits_and_before_duplicate_order() -> None:
    engine = limited(1_000, buy("a1", 1, 100, "dup"))
    engine.apply(SetAccountLimits(1, "a1", max_order_qty=20))
    assert rejected(engine, buy("a1", 21, 100, "dup")) is Reject.ACCOUNT_MAX_ORDER_QTY
    assert rejected(engine, buy("a1", 20, 100, "dup")) is Reject.CREDIT_LIMIT
    assert rejected(engine, buy("a1", 1, 100, "dup")) is Reject.DUPLICATE_ORDER


def test_negative_prices_lower_the_buy_notional() -> None:
    engine = venue(SetCreditLimit(0, "F1", 1_000 * SCALE), buy("a1", 10, 100), min_price=-100)
    accepted(engine, buy("a1", 5, -20))  # 1,000 - 100
    accepted(engine, buy("a1", 1, 100))


def test_removing_the_credit_limit_lets_the_buy_through() -> None:
    engine = limited(1_000)
    assert rejected(engine, buy("a1", 11, 100)) is Reject.CREDIT_LIMIT
    engine.apply(SetCreditLimit(1, "F1", None))
    accepted(engine, buy("a1", 11, 100))


def test_an_amend_adding_exposure_past_the_limit_is_rejected_and_the_order_stays() -> None:
    engine = limited(1_000, buy("a1", 8, 100), buy("a2", 2, 90))
    before = book(engine)
    assert rejected(engine, AmendOrder(1, "a1", 1, 9, 100)) is Reject.CREDIT_LIMIT  # 1,080
    assert rejected(engine, AmendOrder(1, "a1", 1, 8, 103)) is Reject.CREDIT_LIMIT  # 1,004
    assert book(engine) == before
    accepted(engine, AmendOrder(1, "a1", 1, 8, 102))  # 816 + 180 = 996: its old terms leave


def test_an_amend_that_lowers_exposure_is_allowed_even_over_the_limit() -> None:
    engine = limited(2_000, buy("a1", 10, 100), sell("b1", 10, 100), buy("a1", 10, 100, "x"))
    engine.apply(SetCreditLimit(1, "F1", 1_400 * SCALE))  # now 2,000 in use, over it
    accepted(engine, AmendOrder(1, "a1", 3, 5, 100))  # quantity down
    accepted(engine, AmendOrder(1, "a1", 3, 5, 99))  # price down
    assert rejected(engine, AmendOrder(1, "a1", 3, 5, 100)) is Reject.CREDIT_LIMIT  # back up


def test_an_amend_of_a_sell_is_never_credit_checked() -> None:
    engine = limited(1_000, buy("a1", 10, 100), sell("a2", 5, 200))
    accepted(engine, AmendOrder(1, "a2", 2, 50, 300))


# -- notional is money, the same on every instrument ------------------------------------------

EUR = 10**6  # notional is in 10**-6 of the currency


def two_instruments(*commands: Any) -> Engine:
    """PIPE (20 t lots, prices in EUR 0.01/t: one price unit x one lot is EUR 0.20) and UREA
    (25 t lots, prices in whole EUR/t: EUR 25), then `commands`."""
    return venue(instrument("UREA", lot_size=25, price_decimals=0, min_price=-100), *commands)


def test_notional_scale_is_the_lot_size_times_the_price_unit_in_millionths() -> None:
    engine = two_instruments()
    assert engine.instruments[SYMBOL].notional_scale == 20 * 10**4 == SCALE
    assert engine.instruments["UREA"].notional_scale == 25 * 10**6
    assert engine.instruments[SYMBOL].notional(21525, 10) == 43_050 * EUR  # 200 t at 215.25


def test_the_same_order_is_other_money_on_instruments_of_other_lots_and_decimals() -> None:
    engine = two_instruments(AddAccount(0, "lim", "F9", max_order_notional=1_000 * EUR))
    accepted(engine, buy("lim", 10, 500))  # 200 t at EUR 5.00: EUR 1,000, the limit
    assert rejected(engine, buy("lim", 11, 500)) is Reject.ACCOUNT_MAX_NOTIONAL  # EUR 1,100
    assert rejected(engine, buy("lim", 10, 500, symbol="UREA")) is Reject.ACCOUNT_MAX_NOTIONAL
    accepted(engine, buy("lim", 1, 40, symbol="UREA"))  # 25 t at EUR 40: EUR 1,000
    assert rejected(engine, sell("lim", 1, -41, symbol="UREA")) is Reject.ACCOUNT_MAX_NOTIONAL


def test_a_firms_credit_exposure_adds_money_across_instruments() -> None:
    engine = two_instruments(
        SetCreditLimit(0, "F1", 10_000 * EUR),
        buy("a1", 10, 2_000),  # 200 t at EUR 20.00: EUR 4,000
        buy("a2", 4, 50, symbol="UREA"))  # 100 t at EUR 50: EUR 5,000
    assert engine.firms["F1"].open_buy_notional(engine.instruments) == 9_000 * EUR
    assert rejected(engine, buy("a1", 1, 41, symbol="UREA")) is Reject.CREDIT_LIMIT
    accepted(engine, buy("a1", 1, 40, symbol="UREA"))  # EUR 10,000: the limit
    assert rejected(engine, buy("a2", 1, 1)) is Reject.CREDIT_LIMIT  # EUR 0.20 more
    engine.apply(sell("b1", 4, 50, symbol="UREA"))  # a2's EUR 5,000 is bought, no longer open
    assert engine.firms["F1"].net_bought == 5_000 * EUR == -engine.firms["F2"].net_bought
    assert rejected(engine, buy("a2", 1, 1)) is Reject.CREDIT_LIMIT
    engine.apply(BustTrade(2, 1, "wrong grade"))
    assert engine.firms["F1"].net_bought == 0 == engine.firms["F2"].net_bought
    accepted(engine, buy("a2", 25, 1_000))  # 500 t at EUR 10.00: EUR 5,000 again


def test_an_amend_is_credit_checked_at_its_instruments_scale() -> None:
    engine = two_instruments(SetCreditLimit(0, "F1", 1_000 * EUR),
                             buy("a1", 1, 30, symbol="UREA"))  # EUR 750
    assert rejected(engine, AmendOrder(1, "a1", 1, 1, 41)) is Reject.CREDIT_LIMIT  # EUR 1,025
    accepted(engine, AmendOrder(1, "a1", 1, 1, 40))  # EUR 1,000: its old EUR 750 left


# -- kill switch -----------------------------------------------------------------------------


def test_engaging_an_account_kill_switch_cancels_its_orders_in_order_id_order() -> None:
    engine = venue(buy("a1", 5, 99), sell("a1", 5, 105), buy("a2", 5, 98), buy("a1", 3, 97))
    events = engine.apply(SetKillSwitch(2, "account", "a1", True))
    assert events[0] == KillSwitchSet(events[0].seq, 2, "account", "a1", True, 3)
    canceled = only(events, OrderCanceled)
    assert [(e.order_id, e.canceled_qty, e.reason) for e in canceled] == [
        (1, 5, CancelReason.KILL_SWITCH), (2, 5, CancelReason.KILL_SWITCH),
        (4, 3, CancelReason.KILL_SWITCH)]
    assert kinds(events) == ["KillSwitchSet"] + ["OrderCanceled"] * 3 + ["BookChanged"] * 3
    assert list(engine.orders) == [3]  # a2's order stays


def test_engaging_a_firm_kill_switch_cancels_every_account_of_the_firm_and_no_other() -> None:
    engine = venue(buy("a2", 5, 99), buy("b1", 5, 98), buy("a1", 5, 97))
    events = engine.apply(SetKillSwitch(2, "firm", "F1", True))
    assert events[0].canceled == 2
    assert [e.order_id for e in only(events, OrderCanceled)] == [1, 3]
    assert list(engine.orders) == [2]


def test_a_kill_switch_blocks_new_orders_of_the_account_or_its_firm() -> None:
    engine = venue(SetKillSwitch(1, "account", "a1", True))
    assert rejected(engine, buy("a1", 1, 100)) is Reject.BLOCKED
    accepted(engine, buy("a2", 1, 100))
    engine.apply(SetKillSwitch(1, "firm", "F1", True))
    assert rejected(engine, sell("a2", 1, 100)) is Reject.BLOCKED
    assert rejected(engine, sell("a2", 1, None)) is Reject.BLOCKED
    accepted(engine, sell("b1", 1, 100))


def test_blocked_comes_after_unknown_instrument_and_before_the_trading_state() -> None:
    engine = venue(SetKillSwitch(1, "firm", "F1", True),
                   SetTradingState(1, SYMBOL, TradingState.HALTED))
    assert rejected(engine, buy("a1", 1, 100, symbol="NONE")) is Reject.UNKNOWN_INSTRUMENT
    assert rejected(engine, buy("a1", 1, 100)) is Reject.BLOCKED
    assert rejected(engine, buy("a1", 0, 100)) is Reject.INVALID_QUANTITY  # field types first


def test_a_blocked_account_keeps_no_orders_to_amend_or_cancel() -> None:
    # Engaging cancels every live order the switch holds, so an amend or cancel while it is
    # engaged finds none: the doc's BLOCKED for amends cannot show on the account's own orders.
    engine = venue(buy("a1", 5, 99), SetKillSwitch(1, "account", "a1", True))
    assert rejected(engine, AmendOrder(1, "a1", 1, 4, 99)) is Reject.UNKNOWN_ORDER
    assert rejected(engine, CancelOrder(1, "a1", 1)) is Reject.UNKNOWN_ORDER
    assert kinds(engine.apply(MassCancel(1, "a1"))) == ["MassCanceled"]


def test_releasing_a_kill_switch_cancels_nothing_and_lets_orders_in_again() -> None:
    engine = venue(SetKillSwitch(1, "account", "a1", True), buy("a2", 5, 99))
    events = engine.apply(SetKillSwitch(2, "account", "a1", False))
    assert events == [KillSwitchSet(engine.seq, 2, "account", "a1", False, 0)]
    accepted(engine, buy("a1", 1, 100))


def test_firm_and_account_kill_switches_are_independent() -> None:
    engine = venue(SetKillSwitch(1, "account", "a1", True), SetKillSwitch(1, "firm", "F1", True),
                   SetKillSwitch(1, "firm", "F1", False))
    assert rejected(engine, buy("a1", 1, 100)) is Reject.BLOCKED
    accepted(engine, buy("a2", 1, 100))


@pytest.mark.parametrize(("command", "reason"), [
    (SetKillSwitch(1, "firm", "F9", True), Reject.UNKNOWN_FIRM),
    (SetKillSwitch(1, "firm", "a1", True), Reject.UNKNOWN_FIRM),
    (SetKillSwitch(1, "account", "zz", True), Reject.UNKNOWN_ACCOUNT),
    (SetKillSwitch(1, "desk", "a1", True), Reject.INVALID_FIELD),
    (SetKillSwitch(1, "firm", "F1", 1), Reject.INVALID_FIELD),
    (SetKillSwitch(1, "firm", "", True), Reject.INVALID_FIELD),
])
def test_a_kill_switch_names_a_known_firm_or_account(command: SetKillSwitch,
                                                     reason: Reject) -> None:
    engine = venue(buy("a1", 5, 99))
    before = state(engine)
    assert rejected(engine, command) is reason and state(engine) == before


# -- busts -----------------------------------------------------------------------------------


def traded() -> Engine:
    """Trade 1: b1 (F2) sold 4 @ 100 to a1 (F1), the aggressor."""
    return venue(sell("b1", 4, 100), buy("a1", 4, 100))


def test_busting_a_trade_answers_trade_busted_with_its_terms_and_no_book_change() -> None:
    engine = traded()
    engine.apply(buy("c1", 2, 95))
    before = book(engine)
    events = engine.apply(BustTrade(3, 1, "fat finger"))
    assert events == [TradeBusted(engine.seq, 3, 1, SYMBOL, 100, 4, "a1", "b1", "fat finger")]
    assert book(engine) == before


def test_busting_a_sell_aggressor_trade_names_the_maker_as_buyer() -> None:
    engine = venue(buy("b1", 4, 100), sell("a1", 3, 100))
    event = engine.apply(BustTrade(3, 1, ""))[0]
    assert (event.buy_account, event.sell_account, event.qty) == ("b1", "a1", 3)


def test_busting_gives_both_firms_the_notional_back() -> None:
    engine = traded()
    engine.apply(SetCreditLimit(1, "F1", 500 * SCALE))
    assert rejected(engine, buy("a1", 2, 100)) is Reject.CREDIT_LIMIT  # 400 + 200
    engine.apply(BustTrade(3, 1, "error"))
    assert engine.firms["F1"].net_bought == 0 and engine.firms["F2"].net_bought == 0
    accepted(engine, buy("a1", 5, 100))


def test_busting_a_trade_twice_is_rejected() -> None:
    engine = traded()
    engine.apply(BustTrade(3, 1, "error"))
    before = state(engine)
    assert rejected(engine, BustTrade(4, 1, "again")) is Reject.TRADE_ALREADY_BUSTED
    assert state(engine) == before


@pytest.mark.parametrize("trade_id", [0, 2, -1, 99])
def test_busting_an_unknown_trade_is_rejected(trade_id: int) -> None:
    assert rejected(traded(), BustTrade(3, trade_id, "error")) is Reject.UNKNOWN_TRADE


@pytest.mark.parametrize(("trade_id", "reason"), [
    ("1", "error"), (True, "error"), (1.0, "error"), (2**64, "error"), (1, None), (1, "x" * 201),
])
def test_a_bust_names_a_trade_by_integer_and_gives_a_text_reason(trade_id: Any,
                                                                 reason: Any) -> None:
    assert rejected(traded(), BustTrade(3, trade_id, reason)) is Reject.INVALID_FIELD


# -- trading days ----------------------------------------------------------------------------


def test_start_trading_day_answers_trading_day_started_and_zeroes_net_bought() -> None:
    engine = traded()
    events = engine.apply(StartTradingDay(7))
    assert events == [TradingDayStarted(engine.seq, 7)]
    assert all(firm.net_bought == 0 for firm in engine.firms.values())


def test_a_new_trading_day_frees_the_credit_used_by_trades_but_not_by_open_buys() -> None:
    engine = limited(1_000, sell("b1", 6, 100), buy("a1", 6, 100), buy("a2", 3, 100))
    assert rejected(engine, buy("a1", 2, 100)) is Reject.CREDIT_LIMIT  # 600 + 300 + 200
    engine.apply(StartTradingDay(2))
    assert rejected(engine, buy("a1", 8, 100)) is Reject.CREDIT_LIMIT  # 300 + 800
    accepted(engine, buy("a1", 7, 100))
    assert book(engine)["BUY"] == [(100, 10, [3, 4])]  # resting orders stay


def test_trades_of_an_earlier_day_cannot_be_busted() -> None:
    engine = traded()
    engine.apply(StartTradingDay(2))
    assert rejected(engine, BustTrade(3, 1, "late")) is Reject.UNKNOWN_TRADE
    engine.apply(sell("b1", 1, 100))
    engine.apply(buy("a1", 1, 100))
    assert kinds(engine.apply(BustTrade(3, 2, "today"))) == ["TradeBusted"]


@pytest.mark.parametrize("ts_us", [1.5, True, "1", 2**64])
def test_start_trading_day_with_a_bad_time_is_rejected_and_changes_nothing(ts_us: Any) -> None:
    engine = traded()
    before = state(engine)
    assert rejected(engine, StartTradingDay(ts_us)) is Reject.INVALID_FIELD
    assert state(engine) == before


# -- snapshots and the digest ----------------------------------------------------------------


def risky() -> Engine:
    """Credit limits, kill switches, open buys, the day's trades and a bust."""
    return venue(
        SetCreditLimit(0, "F1", 2_000 * SCALE), SetCreditLimit(0, "F2", 5_000 * SCALE),
        sell("b1", 4, 100), buy("a1", 4, 100), buy("a2", 5, 99), sell("c1", 3, 101),
        buy("b1", 3, 101), BustTrade(1, 1, "error"),
        SetKillSwitch(1, "account", "c1", True), SetKillSwitch(1, "firm", "F3", True))


def test_a_snapshot_keeps_firms_day_trades_and_busts() -> None:
    engine = risky()
    loaded = snapshot.load(snapshot.dump(engine))
    assert state(loaded) == state(engine) and loaded.digest() == engine.digest()
    assert loaded.day_trades == engine.day_trades and loaded.busted == engine.busted == {1}
    assert {n: f.canonical() for n, f in loaded.firms.items()} == {
        n: f.canonical() for n, f in engine.firms.items()}


def test_a_loaded_snapshot_answers_later_risk_commands_like_the_original() -> None:
    engine = risky()
    loaded = snapshot.load(snapshot.dump(engine))
    later = [BustTrade(2, 1, "again"), BustTrade(2, 2, "b1 bought"), buy("a2", 12, 100),
             buy("a2", 6, 100), buy("c1", 1, 100), SetKillSwitch(2, "firm", "F3", False),
             buy("c1", 1, 100), SetKillSwitch(2, "account", "c1", False), buy("c1", 1, 100),
             StartTradingDay(3), BustTrade(3, 2, "late"), buy("a1", 9, 100)]
    for command in later:
        assert loaded.apply(command) == engine.apply(command), command
    assert loaded.digest() == engine.digest()


@pytest.mark.parametrize(("one", "other"), [
    (SetCreditLimit(1, "F1", 100), SetCreditLimit(1, "F1", 200)),
    (SetKillSwitch(1, "firm", "F3", True), SetKillSwitch(1, "firm", "F3", False)),
    (SetKillSwitch(1, "account", "c1", True), SetKillSwitch(1, "account", "c1", False)),
    (BustTrade(1, 1, "error"), BustTrade(1, 9, "error")),
    (StartTradingDay(1), SetCreditLimit(1, "F1", None)),
])
def test_the_digest_covers_credit_limits_kill_switches_net_bought_and_busts(one: Any,
                                                                            other: Any) -> None:
    # Each pair leaves the counters and the clock alike (one command, one event) but not the
    # firms, the day's trades or the busts.
    first, second = traded(), traded()
    first.apply(one)
    second.apply(other)
    assert first.seq == second.seq and first.now_us == second.now_us
    assert first.digest() != second.digest()

