"""The naive model's trading phases, call auctions, volatility interruptions and stop orders,
written from docs/engine.md ("Trading phases and call auctions", "Volatility interruptions",
"Stop orders") as a mixin of `tests.engine.model.Model`.

As naive as the rest of the model: the uncrossing price is found by trying every limit price
in the book and keeping the candidates rule by rule; held stops are one list in entry order,
scanned in full at every trade; a call's figures are computed afresh at the end of every
command for each instrument in a call whose book the command touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exchange.engine import events as ev
from exchange.engine.commands import SetVolatilityBands, SubmitOrder, SubmitStopOrder
from exchange.engine.enums import OrdType, Side, StpMode, TimeInForce, TradingState
from exchange.engine.reasons import CancelReason, Reject
from tests.engine.model_fields import is_int, is_member, is_name, text

CALLS = (TradingState.PRE_OPEN, TradingState.CLOSING_AUCTION, TradingState.VOLATILITY_AUCTION)
OPEN, CLOSED, HALTED = TradingState.OPEN, TradingState.CLOSED, TradingState.HALTED
VOLATILITY = TradingState.VOLATILITY_AUCTION
BUY, SELL = Side.BUY, Side.SELL
MAX_CALL_US = 86_400_000_000


@dataclass
class Stop:
    order_id: int
    account: str
    cl_ord_id: str
    symbol: str
    side: Side
    qty: int
    stop_price: int
    price: int | None
    tif: TimeInForce
    stp: StpMode


def naive_uncross(bids: list[tuple[int, int]], asks: list[tuple[int, int]],
                  reference: int | None) -> tuple[int, int, int, Side | None] | None:
    """The doc's four steps over every limit price in the call: (price, volume, surplus,
    surplus side), or None when nothing executes."""
    candidates = sorted({p for p, _ in bids} | {p for p, _ in asks})
    rows = []
    for p in candidates:
        demand = sum(q for price, q in bids if price >= p)
        supply = sum(q for price, q in asks if price <= p)
        rows.append((p, min(demand, supply), demand - supply))
    if not rows or max(r[1] for r in rows) == 0:
        return None
    most = max(r[1] for r in rows)
    rows = [r for r in rows if r[1] == most]
    least = min(abs(r[2]) for r in rows)
    rows = [r for r in rows if abs(r[2]) == least]
    if all(r[2] > 0 for r in rows):
        chosen = rows[-1]
    elif all(r[2] < 0 for r in rows):
        chosen = rows[0]
    else:
        if reference is None:  # the middle of what is left, twice (an integer)
            target, scale = rows[0][0] + rows[-1][0], 2
        else:
            target, scale = reference, 1
        distance = min(abs(scale * r[0] - target) for r in rows)
        chosen = [r for r in rows if abs(scale * r[0] - target) == distance][-1]
    price, volume, surplus = chosen
    return price, volume, abs(surplus), None if surplus == 0 else BUY if surplus > 0 else SELL


class CallRules:
    """Mixed into Model: it uses the model's orders, events and helpers."""

    def init_calls(self: Any) -> None:
        self.last: dict[str, int] = {}  # last trade price per instrument
        self.volatility: dict[str, tuple[int | None, int | None, int]] = {}
        self.vi_end: dict[str, tuple[int, bool]] = {}
        self.shown: dict[str, tuple] = {}  # instruments in a call: figures last published
        self.recheck: set[str] = set()
        self.stops: list[Stop] = []

    # -- phases ------------------------------------------------------------------------------

    def in_call(self: Any, symbol: str) -> bool:
        return self.instruments[symbol].state in CALLS

    def enter(self: Any, symbol: str, state: TradingState) -> None:
        instrument = self.instruments[symbol]
        before, instrument.state = instrument.state, state
        self.emit(ev.TradingStateChanged, symbol, state)
        if state != VOLATILITY:
            self.vi_end.pop(symbol, None)
        if state in CALLS:
            if before not in CALLS:
                self.shown[symbol] = ()
            self.recheck.add(symbol)
        else:
            self.shown.pop(symbol, None)
        if state in (OPEN, CLOSED):
            self.uncross(symbol, before)

    def reference(self: Any, symbol: str) -> int | None:
        return self.last.get(symbol, self.instruments[symbol].reference)

    def call_sides(self: Any, symbol: str, shown: bool) -> tuple[list, list]:
        def qty(o: Any) -> int:
            return o.visible if shown else o.leaves
        return ([(o.price, qty(o)) for o in self.sides[(symbol, BUY)]],
                [(o.price, qty(o)) for o in self.sides[(symbol, SELL)]])

    def uncross(self: Any, symbol: str, ended: TradingState) -> None:
        result = naive_uncross(*self.call_sides(symbol, False), self.reference(symbol))
        if result is None:
            return
        price, volume, surplus, side = result
        self.emit(ev.AuctionUncrossed, symbol, ended, price, volume, surplus, side)
        while volume:
            buy = min((o for o in self.sides[(symbol, BUY)] if o.price >= price),
                      key=lambda o: (-o.price, o.time))
            sell = min((o for o in self.sides[(symbol, SELL)] if o.price <= price),
                       key=lambda o: (o.price, o.time))
            qty = min(buy.leaves, sell.leaves, volume)
            volume -= qty
            maker, taker = (buy, sell) if buy.time < sell.time else (sell, buy)
            for order in (maker, taker):
                self.note(order)
                order.leaves -= qty
                order.visible = min(order.visible, order.leaves)
            self.emit(ev.TradeExecuted, self.next_trade_id, symbol, price, qty, taker.side,
                      maker.order_id, maker.account, maker.leaves, taker.order_id,
                      taker.account, taker.leaves)
            self.traded(self.trade_of(symbol, price, qty, buy.account, sell.account))
            for order in (maker, taker):
                if order.leaves == 0:
                    self.remove(order)

    def publish(self: Any) -> None:
        symbols = {key[0] for key in self.before} | self.recheck
        self.recheck = set()
        for symbol in sorted(symbols):
            if symbol not in self.shown:
                continue
            result = naive_uncross(*self.call_sides(symbol, True), self.reference(symbol))
            figures = (None, 0, 0, None) if result is None else result
            if figures != self.shown[symbol]:
                self.shown[symbol] = figures
                self.emit(ev.AuctionIndicative, symbol, self.instruments[symbol].state,
                          *figures)

    # -- volatility interruptions ------------------------------------------------------------

    def set_volatility_bands(self: Any, cmd: SetVolatilityBands) -> None:
        def ticks(value: Any) -> bool:
            return value is None or (is_int(value) and value > 0)
        if not (is_int(cmd.ts_us) and is_name(cmd.symbol) and ticks(cmd.dynamic_ticks)
                and ticks(cmd.static_ticks) and is_int(cmd.call_us)
                and 0 < cmd.call_us <= MAX_CALL_US):
            return self.reject_command(Reject.INVALID_FIELD)
        if cmd.symbol not in self.instruments:
            return self.reject_command(Reject.UNKNOWN_INSTRUMENT)
        if cmd.dynamic_ticks is None and cmd.static_ticks is None:
            self.volatility.pop(cmd.symbol, None)
        else:
            self.volatility[cmd.symbol] = (cmd.dynamic_ticks, cmd.static_ticks, cmd.call_us)
        self.emit(ev.VolatilityBandsSet, cmd.symbol, cmd.dynamic_ticks, cmd.static_ticks,
                  cmd.call_us)
        return None

    def width(self: Any, symbol: str, ticks: int) -> int:
        instrument = self.instruments[symbol]
        return min(ticks * instrument.tick, instrument.max_price - instrument.min_price)

    def static_band(self: Any, symbol: str) -> tuple[int, int] | None:
        settings = self.volatility.get(symbol)
        reference = self.instruments[symbol].reference
        if settings is None or settings[1] is None or reference is None:
            return None
        width = self.width(symbol, settings[1])
        return reference - width, reference + width

    def bands(self: Any, symbol: str) -> tuple[int, int] | None:
        """The prices a continuous trade may have now without interrupting, or None."""
        settings = self.volatility.get(symbol)
        if settings is None:
            return None
        low, high, any_band = -(2**63), 2**63, False
        static = self.static_band(symbol)
        if static is not None:
            low, high, any_band = static[0], static[1], True
        if settings[0] is not None and symbol in self.last:
            width = self.width(symbol, settings[0])
            low, high = max(low, self.last[symbol] - width), min(high, self.last[symbol] + width)
            any_band = True
        return (low, high) if any_band else None

    def within_bands(self: Any, symbol: str, side: Side, limit: int | None) -> int | None:
        """A fill-or-kill order's limit cut at the bands (it never interrupts trading)."""
        bands = self.bands(symbol)
        if bands is None:
            return limit
        edge = bands[1] if side == BUY else bands[0]
        if limit is None:
            return edge
        return min(limit, edge) if side == BUY else max(limit, edge)

    def near_side_within_bands(self: Any, symbol: str, side: Side, best: int) -> bool:
        """Whether a fill-or-kill order's first trade, at the best opposite price, is within
        the bands (a buy's lowest ask at or over the low edge, a sell's highest bid at or under
        the high edge)."""
        bands = self.bands(symbol)
        return bands is None or (best >= bands[0] if side == BUY else best <= bands[1])

    def interrupt(self: Any, order_id: int, symbol: str, price: int,
                  band: tuple[int, int]) -> None:
        end = self.now + self.volatility[symbol][2]
        self.emit(ev.VolatilityInterruption, symbol, order_id, price, band[0], band[1], end)
        self.enter(symbol, VOLATILITY)
        self.vi_end[symbol] = (end, False)

    def end_due_calls(self: Any) -> None:
        while True:
            due = sorted((end, symbol) for symbol, (end, _) in self.vi_end.items()
                         if end <= self.now)
            if not due:
                return
            end, symbol = due[0]
            result = naive_uncross(*self.call_sides(symbol, False), self.reference(symbol))
            static = self.static_band(symbol)
            if (not self.vi_end[symbol][1] and result is not None and static is not None
                    and not static[0] <= result[0] <= static[1]):
                later = end + self.volatility[symbol][2]
                self.vi_end[symbol] = (later, True)
                self.emit(ev.AuctionExtended, symbol, result[0], later)
                continue
            self.enter(symbol, OPEN)

    # -- stop orders -------------------------------------------------------------------------

    def stop_reject(self: Any, cmd: SubmitStopOrder) -> Reject | None:
        member = is_member
        if not (is_int(cmd.ts_us) and is_name(cmd.account)
                and is_name(cmd.cl_ord_id) and is_name(cmd.symbol)
                and member(cmd.side, Side) and member(cmd.tif, TimeInForce)
                and member(cmd.stp, StpMode)):
            return Reject.INVALID_FIELD
        if not (is_int(cmd.qty) and cmd.qty > 0):
            return Reject.INVALID_QUANTITY
        if not is_int(cmd.stop_price):
            return Reject.INVALID_STOP_PRICE
        if not (cmd.price is None or is_int(cmd.price)):
            return Reject.INVALID_PRICE
        if cmd.account not in self.accounts:
            return Reject.UNKNOWN_ACCOUNT
        instrument = self.instruments.get(cmd.symbol)
        if instrument is None:
            return Reject.UNKNOWN_INSTRUMENT
        if self.is_blocked(cmd.account):
            return Reject.BLOCKED
        if instrument.state in (HALTED, CLOSED):
            return Reject.MARKET_HALTED if instrument.state == HALTED else Reject.MARKET_CLOSED
        if cmd.qty < instrument.min_qty:
            return Reject.QUANTITY_BELOW_MIN
        if cmd.qty > instrument.max_qty:
            return Reject.QUANTITY_ABOVE_MAX
        stop, last = cmd.stop_price, self.last.get(cmd.symbol)
        if (stop % instrument.tick or not instrument.min_price <= stop <= instrument.max_price
                or (last is not None and (stop <= last if cmd.side == BUY else stop >= last))):
            return Reject.INVALID_STOP_PRICE
        if cmd.price is not None:
            reason = self.price_reject(cmd.price, instrument)
            if reason is not None:
                return reason
        if cmd.tif not in (TimeInForce.GTC, TimeInForce.DAY):
            return Reject.INVALID_TIF
        reason = self.limits_reject(self.accounts[cmd.account], instrument, cmd.side, cmd.qty,
                                    cmd.price)
        if reason is not None:
            return reason
        if cmd.cl_ord_id in self.live_ids(cmd.account):
            return Reject.DUPLICATE_ORDER
        return None

    def live_ids(self: Any, account: str) -> set[str]:
        return ({o.cl_ord_id for o in self.all_orders() if o.account == account}
                | {s.cl_ord_id for s in self.stops if s.account == account})

    def submit_stop(self: Any, cmd: SubmitStopOrder) -> None:
        reason = self.stop_reject(cmd)
        if reason is not None:
            self.emit(ev.OrderRejected, text(cmd.account), text(cmd.cl_ord_id),
                      text(cmd.symbol), reason)
            return
        stop = Stop(self.next_order_id, cmd.account, cmd.cl_ord_id, cmd.symbol, Side(cmd.side),
                    cmd.qty, cmd.stop_price, cmd.price, TimeInForce(cmd.tif), StpMode(cmd.stp))
        self.next_order_id += 1
        self.stops.append(stop)
        self.emit(ev.StopOrderAccepted, stop.order_id, stop.account, stop.cl_ord_id,
                  stop.symbol, stop.side, OrdType.STOP if stop.price is None
                  else OrdType.STOP_LIMIT, stop.qty, stop.stop_price, stop.price, stop.tif,
                  stop.stp)

    def find_stop(self: Any, order_id: int, account: str) -> Stop | None:
        return next((s for s in self.stops if s.order_id == order_id and s.account == account),
                    None)

    def drop_stop(self: Any, stop: Stop, reason: CancelReason | None) -> None:
        """Cancel (reason) or expire (None) a held stop."""
        self.stops.remove(stop)
        if reason is None:
            self.emit(ev.OrderExpired, stop.order_id, stop.account, stop.symbol, stop.qty)
        else:
            self.emit(ev.OrderCanceled, stop.order_id, stop.account, stop.symbol, stop.qty,
                      reason)

    def cascade(self: Any) -> None:
        waiting: list[tuple[Stop, int]] = []
        looked = 0
        while True:
            while looked < len(self.events):
                event = self.events[looked]
                looked += 1
                if type(event) is ev.TradeExecuted:
                    reached = [s for s in self.stops if s.symbol == event.symbol and (
                        s.stop_price <= event.price if s.side == BUY
                        else s.stop_price >= event.price)]
                    for stop in sorted(reached, key=lambda s: s.order_id):
                        self.stops.remove(stop)
                        waiting.append((stop, event.price))
            if not waiting:
                return
            stop, price = waiting.pop(0)
            at = len(self.events)
            self.emit(ev.StopTriggered, stop.order_id, stop.account, stop.symbol, price, None)
            new_order_id = self.next_order_id
            market = stop.price is None
            self.submit(SubmitOrder(
                self.now, stop.account, stop.cl_ord_id, stop.symbol, stop.side, stop.qty,
                stop.price, OrdType.MARKET if market else OrdType.LIMIT,
                TimeInForce.IOC if market else stop.tif, None, False, None, stop.stp))
            if type(self.events[at + 1]) is ev.OrderAccepted:
                self.events[at] = self.events[at]._replace(new_order_id=new_order_id)
