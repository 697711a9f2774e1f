"""The demo day: `exchange serve --demo` runs one compressed trading day on DAY_SYMBOL.

From `start_us`, with phases of `phase_s` seconds (UTC times of day, whole seconds):

    start           PRE_OPEN         the opening call; seeded buys and sells that cross
    + phase_s       OPEN             the opening auction uncrosses them; continuous trading
    + 3 * phase_s   CLOSING_AUCTION  the closing call; seeded orders that cross again
    + 4 * phase_s   CLOSED           the closing auction uncrosses them

The instrument is put in PRE_OPEN at once and given these times as its daily schedule (one
SetTradingSchedule), which the gateway drives like any schedule (exchange/gateway/schedule.py),
so every phase change is a sequenced command with its time in it and the day's ledger passes
`exchange audit verify`. The other demo instruments trade continuously all day, so the demo's
pasted examples work at any time. The seeded orders come from two demo accounts that no demo
key trades for; their cl_ord_ids carry the day's start second (each start of the demo runs a
new day).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from exchange.engine import Command, Side, SubmitOrder, TimeInForce, TradingState
from exchange.engine.commands import SetTradingSchedule, SetTradingState
from exchange.gateway.schedule import DAY_US

if TYPE_CHECKING:
    from exchange.gateway.venue import Venue

DAY_SYMBOL = "UREA-46-ANR-27Q2"  # 0.50 tick, 2 decimals, reference 385.00
DEFAULT_PHASE_S = 30
# (account, side, lots, price in units), from accounts that no demo key trades for (so the
# demo's traders see only their own orders): the opening call uncrosses 14 lots at 385.00
OPENING = (("FERT-1", Side.SELL, 10, 38_450), ("FERT-1", Side.SELL, 5, 38_550),
           ("FERT-1", Side.SELL, 4, 38_500), ("AGRO-2", Side.BUY, 8, 38_600),
           ("AGRO-2", Side.BUY, 6, 38_500))
# with FERT-1's 5 left at 385.50, the closing call uncrosses 7 lots at 385.50
CLOSING = (("AGRO-2", Side.BUY, 5, 38_600), ("AGRO-2", Side.BUY, 3, 38_550),
           ("FERT-1", Side.SELL, 2, 38_500))
PHASES = ((1, TradingState.OPEN), (3, TradingState.CLOSING_AUCTION), (4, TradingState.CLOSED),
          (0, TradingState.PRE_OPEN))  # (phases from the start, state); the next day's call


class DemoDay:
    """One demo day's plan: its times and the orders seeded into its two calls."""

    def __init__(self, now_us: int, phase_s: int = DEFAULT_PHASE_S) -> None:
        if not 1 <= phase_s <= 3600:
            raise ValueError("a demo phase lasts 1 to 3600 seconds")
        self.start_us = -(-now_us // 1_000_000) * 1_000_000  # the next whole second
        self.phase_s = phase_s

    def at_us(self, phases: int) -> int:
        return self.start_us + phases * self.phase_s * 1_000_000

    def start_commands(self) -> list[Command]:
        """PRE_OPEN now, the schedule, the opening call's orders: one setup batch."""
        start = self.start_us
        transitions = sorted([self.at_us(n) % DAY_US // 1_000_000, int(state)]
                             for n, state in PHASES)
        return [SetTradingState(start, DAY_SYMBOL, TradingState.PRE_OPEN),
                SetTradingSchedule(start, DAY_SYMBOL, transitions),
                *self._orders(OPENING, "open", start)]

    def _orders(self, seeded: tuple, call: str, ts_us: int) -> list[SubmitOrder]:
        day = self.start_us // 1_000_000
        return [SubmitOrder(ts_us, account, f"demo-day-{day}-{call}-{n}", DAY_SYMBOL, side, lots,
                            price, tif=TimeInForce.DAY)
                for n, (account, side, lots, price) in enumerate(seeded, 1)]

    async def run(self, venue: Venue, poll_s: float = 0.05) -> None:
        """Seed the closing call once it starts (the schedule starts it); then done."""
        from exchange.gateway.jobs import Job, now_us  # the gateway imports the demo

        instrument = venue.engine.instruments[DAY_SYMBOL]
        while instrument.state != TradingState.CLOSING_AUCTION:
            if instrument.state == TradingState.CLOSED:
                return  # the operator closed it first: no closing call today
            await asyncio.sleep(poll_s)
        for order in self._orders(CLOSING, "close", now_us()):
            await venue.submit(Job(None, None, order, f"account:{order.account}"))

    def timetable(self) -> list[tuple[str, str]]:
        """(UTC time, what happens) for the console."""
        def clock(phases: int) -> str:
            second = self.at_us(phases) % DAY_US // 1_000_000
            return f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
        return [(clock(0), "pre-open: the opening call"),
                (clock(1), "opening auction, then continuous trading"),
                (clock(3), "closing auction call"), (clock(4), "closing uncross, closed")]
