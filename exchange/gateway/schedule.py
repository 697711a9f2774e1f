"""Each instrument's trading day, driven by the gateway's clock with the time in each command.

The operator sets a schedule (`set_schedule`, one `SetTradingSchedule` command: transitions
`[second of the UTC day, state]`); the engine only records it (exchange/engine/schedule.py),
and `Timetable` folds those events in, like the market data, so the ledger alone determines
it (and the gateway's snapshot keeps it). `ScheduleDriver.due(now_us)` is called from the
venue's tick: every transition whose instant came in `(checked, now]` becomes, in time order,
one `SetTradingState(now_us, symbol, state)` job through the engine task, recorded with the
origin `venue:schedule`. Rules, applied in the engine task when the job runs:

- an instrument already in the state gets no command (nothing to record);
- a HALTED instrument stays halted (a halt is the operator's; the schedule resumes after it
  with the next transition that finds it not halted), unless the transition is itself a halt;
- the driver's first check starts at its first `due` call: instants missed while the venue was
  down are not replayed (the operator sets the phase, `exchange admin instruments phase`).

Costs: `due` is O(log n) per transition due (a heap of the next instant of each schedule) and
O(1) when nothing is due, so 150,000 scheduled instruments cost nothing between transitions.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from exchange.engine.commands import Command, SetTradingSchedule, SetTradingState
from exchange.engine.enums import TradingState
from exchange.engine.events import Event, TradingScheduleSet

if TYPE_CHECKING:
    from exchange.gateway.venue import Venue

DAY_US = 86_400 * 1_000_000
ORIGIN = "venue:schedule"
Transitions = list[list[int]]  # [[second of the UTC day, TradingState value], ...]


class Timetable:
    """The schedules in force, by symbol: a fold of the ledger's TradingScheduleSet events.
    `changed` collects the symbols set since the driver last looked."""

    __slots__ = ("changed", "schedules")

    def __init__(self, schedules: dict[str, Transitions] | None = None) -> None:
        self.schedules: dict[str, Transitions] = dict(schedules or {})
        self.changed: set[str] = set(self.schedules)

    def apply(self, command: Command, events: list[Event]) -> None:
        """O(1) unless the command is a schedule."""
        if type(command) is not SetTradingSchedule:
            return
        for event in events:
            if type(event) is TradingScheduleSet:
                if event.transitions:
                    self.schedules[event.symbol] = event.transitions
                else:
                    self.schedules.pop(event.symbol, None)
                self.changed.add(event.symbol)

    def view(self, symbol: str) -> list[dict[str, str]]:
        return schedule_view(self.schedules.get(symbol, []))


def schedule_view(transitions: Transitions) -> list[dict[str, str]]:
    """The wire form: [{"at": "HH:MM:SS", "state": name}, ...] (UTC)."""
    return [{"at": clock_time(second), "state": TradingState(state).name}
            for second, state in transitions]


def clock_time(second: int) -> str:
    return f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"


def next_instant(transitions: Transitions, after_us: int) -> tuple[int, int]:
    """(instant in us, state) of the first transition strictly after `after_us`. O(n)."""
    day = after_us // DAY_US
    for day_start in (day * DAY_US, (day + 1) * DAY_US):
        for second, state in transitions:
            instant = day_start + second * 1_000_000
            if instant > after_us:
                return instant, state
    raise ValueError("an empty schedule has no next instant")


class ScheduleDriver:
    """Issues the scheduled phase changes; `clock` (us since the epoch) is the venue's time,
    replaceable in tests."""

    def __init__(self, venue: Venue, clock: Callable[[], int]) -> None:
        self.venue = venue
        self.clock = clock
        self.checked_us: int | None = None  # instants up to here are done
        self._heap: list[tuple[int, int, str, int]] = []  # (instant, state, symbol, generation)
        self._generation: dict[str, int] = {}

    async def due(self, now_us: int | None = None) -> int:
        """Send every transition due by `now_us` (default: the clock); how many were due."""
        now = self.clock() if now_us is None else now_us
        if self.checked_us is None:
            self.checked_us = now
        self._rearm(self.venue.timetable)
        heap, sent = self._heap, 0
        while heap and heap[0][0] <= now:
            instant, state, symbol, generation = heapq.heappop(heap)
            if generation != self._generation.get(symbol):
                continue  # replaced or cleared since it was armed
            transitions = self.venue.timetable.schedules[symbol]
            heapq.heappush(heap, (*next_instant(transitions, instant), symbol, generation))
            await self._send(symbol, TradingState(state), now)
            sent += 1
        self.checked_us = max(self.checked_us, now)
        return sent

    def next_due_us(self) -> int | None:
        """The next instant armed (for tests and the operators' view)."""
        self._rearm(self.venue.timetable)
        while self._heap and self._heap[0][3] != self._generation.get(self._heap[0][2]):
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def _rearm(self, timetable: Timetable) -> None:
        """Arm each changed schedule from where the driver has checked up to."""
        if not timetable.changed or self.checked_us is None:
            return
        for symbol in timetable.changed:
            generation = self._generation[symbol] = self._generation.get(symbol, 0) + 1
            transitions = timetable.schedules.get(symbol)
            if transitions:
                heapq.heappush(self._heap, (*next_instant(transitions, self.checked_us),
                                            symbol, generation))
        timetable.changed = set()

    async def _send(self, symbol: str, state: TradingState, now_us: int) -> None:
        def work(venue: Venue) -> Any:
            instrument = venue.engine.instruments.get(symbol)
            if instrument is None or instrument.state == state:
                return {"skipped": symbol}
            if instrument.state == TradingState.HALTED:
                return {"skipped": symbol}
            return SetTradingState(now_us, symbol, state)

        from exchange.gateway.jobs import Job  # venue imports this module

        await self.venue.submit(Job(None, None, work, ORIGIN))
