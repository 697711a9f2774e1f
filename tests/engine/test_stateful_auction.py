"""The engine and the naive model side by side (tests/engine/test_stateful.py) with the trading
phases, call auctions, volatility interruptions and stop orders in play as well.

Every rule of the base machine runs, plus: phase changes among all the operator's states (so
calls are collected, uncrossed, halted and closed), volatility bands set and cleared (narrow
enough to interrupt often, with short calls), clock steps past call ends (so calls end and
extend), stop and stop-limit orders around the last price (so they trigger and cascade), their
cancels and amends, and snapshot round trips with all of it held. Events, books, firms and
trades must equal the model's after every step; `Engine.check()` must hold; the held stops
and the calls' state must equal the model's.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from exchange.engine.commands import (
    AmendOrder,
    CancelOrder,
    ExpireOrders,
    SetTradingState,
    SetVolatilityBands,
    SubmitStopOrder,
)
from exchange.engine.enums import Side, StpMode, TimeInForce, TradingState
from tests.engine.test_stateful import (
    CENTER,
    TICK,
    EngineAgainstModel,
    accounts,
    cl_ids,
    clock_steps,
    few,
)

PHASES = [TradingState.PRE_OPEN, TradingState.PRE_OPEN, TradingState.OPEN, TradingState.OPEN,
          TradingState.OPEN, TradingState.CLOSING_AUCTION, TradingState.CLOSED,
          TradingState.HALTED, TradingState.VOLATILITY_AUCTION]
call_symbols = st.sampled_from(["A", "B"] * 6 + ["ZZ"])


class EngineAgainstModelWithAuctions(EngineAgainstModel):
    @rule(symbol=call_symbols, state=st.sampled_from(PHASES), step=clock_steps)
    def phase(self, symbol: str, state: TradingState, step: int) -> None:
        self.run(SetTradingState(self.tick(step), symbol, state))

    @rule(symbol=call_symbols, dynamic=st.sampled_from([None, 1, 2, 3]),
          static=st.sampled_from([None, None, 2, 4]), call_us=st.sampled_from([1, 3, 5, 0]),
          step=clock_steps)
    def volatility_bands(self, symbol: str, dynamic: int | None, static: int | None,
                         call_us: int, step: int) -> None:
        self.run(SetVolatilityBands(self.tick(step), symbol, dynamic, static, call_us))

    @rule(step=st.integers(1, 6))
    def time_passes(self, step: int) -> None:
        self.run(ExpireOrders(self.tick(step)))

    @rule(account=accounts, symbol=call_symbols, side=st.sampled_from(Side), qty=few,
          stop_ticks=st.integers(-3, 3), limit_ticks=st.sampled_from([None, None, 0, 1, -1, 2]),
          tif=st.sampled_from([TimeInForce.GTC, TimeInForce.GTC, TimeInForce.DAY,
                               TimeInForce.IOC]),
          cl=cl_ids, step=clock_steps, stp=st.sampled_from(StpMode))
    def submit_stop(self, account: str, symbol: str, side: Side, qty: int, stop_ticks: int,
                    limit_ticks: int | None, tif: TimeInForce, cl: str, step: int,
                    stp: StpMode) -> None:
        """Stops around the last price (or the centre), so they are accepted, refused as
        reached, and triggered."""
        last = self.model.last.get(symbol, CENTER.get(symbol, 100))
        tick = TICK.get(symbol, 1)
        stop_price = last + stop_ticks * tick
        price = None if limit_ticks is None else stop_price + (
            limit_ticks if side == Side.BUY else -limit_ticks) * tick
        self.run(SubmitStopOrder(self.tick(step), account, cl, symbol, side, qty, stop_price,
                                 price, tif, stp))

    @precondition(lambda self: self.model.stops)
    @rule(data=st.data(), step=clock_steps, amend=st.booleans())
    def cancel_or_amend_stop(self, data: st.DataObject, step: int, amend: bool) -> None:
        stop = data.draw(st.sampled_from(self.model.stops))
        account = data.draw(st.sampled_from([stop.account] * 4 + ["b1"]))
        if amend:
            self.run(AmendOrder(self.tick(step), account, stop.order_id, stop.qty + 1,
                                stop.price or stop.stop_price))
        else:
            self.run(CancelOrder(self.tick(step), account, stop.order_id))

    @invariant()
    def stops_and_calls_equal_the_model(self) -> None:
        engine, model = self.engine, self.model
        assert sorted(s.canonical() for s in engine.stops.by_id.values()) == sorted(
            (s.order_id, s.account, s.cl_ord_id, s.symbol, int(s.side), s.qty, s.stop_price,
             s.price, int(s.tif), int(s.stp)) for s in model.stops)
        assert engine.calls.volatility_end == model.vi_end
        assert engine.calls.shown == model.shown
        for symbol, book in engine.books.items():
            assert book.last_price == model.last.get(symbol)

EngineAgainstModelWithAuctions.TestCase.settings = settings(
    max_examples=settings.default.max_examples, stateful_step_count=100)
TestEngineAgainstModelWithAuctions = EngineAgainstModelWithAuctions.TestCase
