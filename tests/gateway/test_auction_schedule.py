"""Trading phases set by the operator and by the daily schedule, over real websockets on
127.0.0.1, with the venue's schedule clock under the test's control (no real minutes)."""

from __future__ import annotations

from pathlib import Path

import msgpack
import pytest

from exchange.client import Client, ExchangeError
from exchange.engine.commands import SetTradingSchedule, SetTradingState
from exchange.engine.enums import TradingState
from exchange.engine.events import TradingScheduleSet
from exchange.gateway import snapshot as gateway_snapshot
from exchange.gateway.marketdata import MarketData
from exchange.gateway.operators.phases import day_transitions
from exchange.gateway.orders import OrderTracker
from exchange.gateway.protocol import RequestError
from exchange.gateway.schedule import DAY_US, ORIGIN, ScheduleDriver, Timetable, next_instant
from tests.gateway.conftest import WHEAT, Venue, eventually, open_venue, start_venue, stop_venue

DAY = 20_790 * DAY_US  # 2026-12-03 00:00 UTC, in us


def at(hh_mm: str, day: int = 0) -> int:
    hours, minutes = map(int, hh_mm.split(":"))
    return DAY + day * DAY_US + (hours * 3600 + minutes * 60) * 1_000_000


class Clock:
    def __init__(self, now_us: int) -> None:
        self.now_us = now_us

    def __call__(self) -> int:
        return self.now_us


def controlled_clock(venue: Venue, now_us: int) -> Clock:
    """Give the venue's schedule driver a clock the test moves (the tick loop calls it)."""
    clock = Clock(now_us)
    inner = venue.server.venue
    assert inner is not None
    inner.schedule = ScheduleDriver(inner, clock)
    return clock


def state_of(venue: Venue, symbol: str = WHEAT) -> TradingState:
    assert venue.server.venue is not None
    return TradingState(venue.server.venue.engine.instruments[symbol].state)


async def scheduled_commands(venue: Venue) -> list[tuple[SetTradingState, str]]:
    inner = venue.server.venue
    assert inner is not None
    await eventually(lambda: inner.durable_seq == inner.engine.last_command_seq)
    return [(entry.command, entry.origin)
            async for entry in inner.ledger.entries(1, inner.durable_seq)
            if type(entry.command) is SetTradingState and entry.origin == ORIGIN]


async def test_the_schedule_opens_and_closes_at_its_times_with_the_time_in_the_command(
        tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        operator = await venue.client("operator")
        await operator.request("set_phase", sym=WHEAT, phase="close")
        clock = controlled_clock(venue, at("07:59"))
        result = await operator.request("set_schedule", sym=WHEAT, open="08:00", close="16:30")
        assert result["schedule"] == [{"at": "08:00:00", "state": "OPEN"},
                                      {"at": "16:30:00", "state": "CLOSED"}]
        await eventually(lambda: venue.server.venue.schedule.next_due_us() == at("08:00"))  # type: ignore[union-attr]
        trader = await venue.client("AGRO-1")
        with pytest.raises(ExchangeError, match="MARKET_CLOSED"):
            await trader.new_order(WHEAT, "BUY", "1", "209.50")
        clock.now_us = at("08:00") + 300_000
        await eventually(lambda: state_of(venue) is TradingState.OPEN)
        await trader.new_order(WHEAT, "BUY", "1", "209.50")
        clock.now_us = at("16:30")
        await eventually(lambda: state_of(venue) is TradingState.CLOSED)
        sent = await scheduled_commands(venue)
        assert [(c.ts_us, c.state) for c, _ in sent] == [
            (at("08:00") + 300_000, TradingState.OPEN), (at("16:30"), TradingState.CLOSED)]


async def test_a_halted_instrument_stays_halted_through_its_scheduled_open(
        tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        operator = await venue.client("operator")
        clock = controlled_clock(venue, at("07:00"))
        await operator.request("set_schedule", sym=WHEAT, open="08:00", close="16:30")
        answer = await operator.request("set_phase", sym=WHEAT, phase="halt")
        assert (answer["phase"], answer["state"]) == ("halt", "HALTED")
        await eventually(lambda: venue.server.venue.schedule.next_due_us() == at("08:00"))  # type: ignore[union-attr]
        clock.now_us = at("08:00")
        await eventually(lambda: venue.server.venue.schedule.next_due_us() == at("16:30"))  # type: ignore[union-attr]
        assert state_of(venue) is TradingState.HALTED
        await operator.request("set_phase", sym=WHEAT, phase="open")
        clock.now_us = at("16:30")
        await eventually(lambda: state_of(venue) is TradingState.CLOSED)
        clock.now_us = at("08:00", day=1)  # the next day's open
        await eventually(lambda: state_of(venue) is TradingState.OPEN)
        assert [c.state for c, _ in await scheduled_commands(venue)] == [
            TradingState.CLOSED, TradingState.OPEN]


async def test_a_cleared_schedule_sends_nothing_and_a_restart_keeps_a_set_one(
        tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    venue = await start_venue(path)
    try:
        operator = await venue.client("operator")
        clock = controlled_clock(venue, at("07:00"))
        await operator.request("set_schedule", sym=WHEAT, open="08:00")
        await operator.request("set_schedule", sym=WHEAT, clear=True)
        await operator.request("set_schedule", sym="UREA-46-ANR-27Q2", close="18:00:30")
        await eventually(lambda: venue.server.venue.schedule.next_due_us() == at("18:00")  # type: ignore[union-attr]
                         + 30_000_000)
        clock.now_us = at("09:00")
        await eventually(lambda: venue.server.venue.schedule.checked_us == at("09:00"))  # type: ignore[union-attr]
        assert state_of(venue) is TradingState.OPEN and await scheduled_commands(venue) == []
    finally:
        await stop_venue(venue)
    venue = await start_venue(path)
    try:
        operator = await venue.client("operator")
        shown = await operator.request("show_schedule", sym="UREA-46-ANR-27Q2")
        assert shown == {"sym": "UREA-46-ANR-27Q2", "state": "OPEN",
                         "schedule": [{"at": "18:00:30", "state": "CLOSED"}]}
        assert (await operator.request("show_schedule", sym=WHEAT))["schedule"] == []
    finally:
        await stop_venue(venue)


async def refused(client: Client, op: str, **args: object) -> tuple[str, str]:
    with pytest.raises(ExchangeError) as caught:
        await client.request(op, **args)
    return caught.value.code, caught.value.msg


async def test_bad_phases_and_schedules_are_refused_with_a_clear_error(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        operator = await venue.client("operator")
        assert await refused(operator, "set_phase", sym=WHEAT, phase="opening") == (
            "BAD_REQUEST", "phase must be one of pre-open, open, closing-auction, close, halt")
        assert (await refused(operator, "set_phase", sym="NOPE", phase="halt"))[0] == \
            "UNKNOWN_INSTRUMENT"
        assert await refused(operator, "set_phase", sym=WHEAT, phase="halt", at="now") == (
            "UNKNOWN_FIELD", "unknown field args.'at'")
        for bad in ("8:00", "24:00", "08:60", "08:00:60", "٠٨:00", 800, "08:00:00:00"):
            code, msg = await refused(operator, "set_schedule", sym=WHEAT, open=bad)
            assert code == "BAD_REQUEST" and msg.startswith("open"), (bad, msg)
        assert await refused(operator, "set_schedule", sym=WHEAT) == (
            "BAD_REQUEST", ("give at least one of pre_open, open, closing_auction, close "
                           "(or clear: true)"))
        assert (await refused(operator, "set_schedule", sym=WHEAT, open="08:00",
                              close="08:00"))[1].startswith("the phases must come round")
        assert (await refused(operator, "set_schedule", sym=WHEAT, open="08:00",
                              clear=True))[1] == "clear and the phase times exclude each other"
        trader = await venue.client("AGRO-1")
        assert (await refused(trader, "set_schedule", sym=WHEAT, open="08:00"))[0] == "FORBIDDEN"
        assert (await refused(trader, "set_phase", sym=WHEAT, phase="halt"))[0] == "FORBIDDEN"
        assert await operator.request("show_schedule", sym=WHEAT) == {
            "sym": WHEAT, "state": "OPEN", "schedule": []}


def test_next_instant_wraps_to_the_next_day_and_a_day_may_wrap_past_midnight() -> None:
    transitions = [[8 * 3600, 1], [16 * 3600, 3]]
    assert next_instant(transitions, at("07:00")) == (at("08:00"), 1)
    assert next_instant(transitions, at("08:00")) == (at("16:00"), 3)
    assert next_instant(transitions, at("16:00")) == (at("08:00", day=1), 1)
    assert day_transitions({"open": "22:00", "close": "02:00"}) == [[7200, 3], [79200, 1]]
    with pytest.raises(RequestError, match="must come round the day"):
        day_transitions({"open": "22:00", "close": "22:00"})


def test_the_gateway_snapshot_keeps_the_schedules() -> None:
    timetable = Timetable()
    timetable.apply(SetTradingSchedule(1, WHEAT, [[3600, 1]]), [])  # refused: nothing set
    assert timetable.schedules == {}
    timetable.apply(SetTradingSchedule(1, WHEAT, [[3600, 1]]),
                    [TradingScheduleSet(2, 1, WHEAT, [[3600, 1]])])
    data = gateway_snapshot.dump(OrderTracker(), MarketData(), timetable)
    assert gateway_snapshot.load_timetable(data).schedules == {WHEAT: [[3600, 1]]}
    old = msgpack.packb(msgpack.unpackb(data)[:8])  # as written before schedules
    assert gateway_snapshot.load_timetable(old).schedules == {}
