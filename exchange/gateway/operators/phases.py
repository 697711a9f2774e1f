"""Operator ops on trading phases: set an instrument's phase now, set or show its daily schedule,
set its volatility interruptions.

`set_phase` names the phase as the operator thinks of it (`pre-open`, `open`,
`closing-auction`, `close`, `halt`) and becomes one `SetTradingState`; the engine decides what
entering it means (docs/engine.md: entering OPEN or CLOSED from a call uncrosses it).
`set_schedule` takes the same names as fields, each a UTC time of day "HH:MM" or "HH:MM:SS"
(at least one; `clear: true` instead removes the schedule), and becomes one
`SetTradingSchedule`; the gateway then drives it (exchange/gateway/schedule.py). The phases
given must come round the day in the order pre-open, open, closing-auction, close (a day may
wrap past midnight); any other order, a repeated time or a malformed one is BAD_REQUEST.
`set_volatility_bands` becomes one `SetVolatilityBands` (docs/engine.md, "Volatility
interruptions").
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from exchange.engine.commands import SetTradingSchedule, SetTradingState, SetVolatilityBands
from exchange.engine.enums import TradingState
from exchange.gateway import protocol
from exchange.gateway.jobs import now_us
from exchange.gateway.operators.base import _command, _count, _instrument, _limit, _query
from exchange.gateway.protocol import Code, Request, RequestError
from exchange.gateway.schedule import DAY_US, schedule_view
from exchange.gateway.session import Session
from exchange.gateway.venue import Venue

# the operator's name of a phase -> the engine's state (in the order of a day)
PHASES = {"pre-open": "PRE_OPEN", "open": "OPEN", "closing-auction": "CLOSING_AUCTION",
          "close": "CLOSED", "halt": "HALTED"}
DAY_PHASES = ("pre-open", "open", "closing-auction", "close")
SCHEDULE_FIELDS = tuple(phase.replace("-", "_") for phase in DAY_PHASES)  # wire names


def _state(phase: str) -> TradingState:
    """The engine's state for a phase name (RequestError if this engine has none)."""
    state = TradingState.__members__.get(PHASES[phase])
    if state is None:
        raise RequestError(Code.BAD_REQUEST, f"this venue has no {phase} phase")
    return state


async def set_phase(venue: Venue, session: Session, request: Request) -> None:
    args = request.args
    phase = args.get("phase")
    if type(phase) is not str or phase not in PHASES:
        raise RequestError(Code.BAD_REQUEST, f"phase must be one of {', '.join(PHASES)}")
    state = _state(phase)

    def make(venue: Venue, extra: dict[str, Any]) -> Any:
        symbol = _instrument(venue, args).symbol
        extra.update(sym=symbol, phase=phase, state=state.name)
        return SetTradingState(now_us(), symbol, state)

    await _command(venue, session, request, make)


def parse_time_of_day(value: Any, key: str) -> int:
    """Seconds since 00:00 UTC from "HH:MM" or "HH:MM:SS" (ASCII digits, two each)."""
    parts = value.split(":") if type(value) is str else []
    if not (2 <= len(parts) <= 3 and all(len(p) == 2 and p.isascii() and p.isdigit()
                                         for p in parts)):
        raise RequestError(Code.BAD_REQUEST, f"{key} must be a UTC time HH:MM or HH:MM:SS")
    hours, minutes, seconds = (*map(int, parts), 0)[:3]
    if hours > 23 or minutes > 59 or seconds > 59:
        raise RequestError(Code.BAD_REQUEST, f"{key}: no such time of day {value!r}")
    return hours * 3600 + minutes * 60 + seconds


def day_transitions(args: dict[str, Any]) -> list[list[int]]:
    """[[second, state], ...] sorted by time, from the phases given; checks their order."""
    given = [(phase, parse_time_of_day(args[field], field))
             for phase, field in zip(DAY_PHASES, SCHEDULE_FIELDS, strict=True)
             if args.get(field) is not None]
    if not given:
        raise RequestError(Code.BAD_REQUEST, f"give at least one of {', '.join(SCHEDULE_FIELDS)}"
                                             " (or clear: true)")
    first = given[0][1]
    offsets = [(second - first) % (DAY_US // 1_000_000) for _, second in given]
    if any(later <= earlier for earlier, later in pairwise(offsets)):
        raise RequestError(Code.BAD_REQUEST, "the phases must come round the day in the order "
                                             f"{', '.join(SCHEDULE_FIELDS)}, at different times")
    return sorted([second, int(_state(phase))] for phase, second in given)


async def set_schedule(venue: Venue, session: Session, request: Request) -> None:
    args = request.args
    clear = protocol.flag(args, "clear")
    if clear and any(args.get(field) is not None for field in SCHEDULE_FIELDS):
        raise RequestError(Code.BAD_REQUEST, "clear and the phase times exclude each other")
    transitions = [] if clear else day_transitions(args)

    def make(venue: Venue, extra: dict[str, Any]) -> Any:
        symbol = _instrument(venue, args).symbol
        extra.update(sym=symbol, schedule=schedule_view(transitions))
        return SetTradingSchedule(now_us(), symbol, transitions)

    await _command(venue, session, request, make)


async def show_schedule(venue: Venue, session: Session, request: Request) -> None:
    args = request.args

    def read(venue: Venue) -> dict[str, Any]:
        instrument = _instrument(venue, args)
        return {"sym": instrument.symbol, "state": TradingState(instrument.state).name,
                "schedule": venue.timetable.view(instrument.symbol)}

    await _query(venue, session, request, read)


MAX_CALL_MS = 86_400_000  # a volatility call lasts at most a day (the engine's bound)


async def set_volatility_bands(venue: Venue, session: Session, request: Request) -> None:
    """Volatility interruptions: `dynamic_ticks` (around the last trade price) and
    `static_ticks` (around the reference price), each a string of digits or "none", and
    `call_ms`, how long the call a trade outside them starts lasts; both "none": off."""
    args = request.args
    dynamic = _count(args, "dynamic_ticks", none_ok=True)
    static = _count(args, "static_ticks", none_ok=True)
    call_ms = _count(args, "call_ms")
    if not 0 < call_ms <= MAX_CALL_MS:
        raise RequestError(Code.BAD_REQUEST, f"call_ms must be 1 to {MAX_CALL_MS}")

    def make(venue: Venue, extra: dict[str, Any]) -> Any:
        symbol = _instrument(venue, args).symbol
        extra.update(sym=symbol, dynamic_ticks=_limit(dynamic), static_ticks=_limit(static),
                     call_ms=str(call_ms))
        return SetVolatilityBands(now_us(), symbol, dynamic, static, call_ms * 1000)

    await _command(venue, session, request, make)
