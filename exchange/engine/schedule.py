"""An instrument's daily schedule as the engine sees it: checked and recorded, nothing more.

The engine has no clock of its own, so it never acts on a schedule: `SetTradingSchedule` is
validated (a listed symbol; transitions `[second of the UTC day, state]`, times in
0..SECONDS_PER_DAY-1 strictly increasing, at most MAX_TRANSITIONS, each state one an operator
may set) and answered with `TradingScheduleSet`, or CommandRejected(INVALID_FIELD /
UNKNOWN_INSTRUMENT) with nothing recorded. The gateway folds these events into its timetable
(exchange/gateway/schedule.py) and, at each time, sends a SetTradingState carrying that time,
so the phase changes are ordinary sequenced commands that replay byte for byte.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from exchange.engine.commands import SetTradingSchedule
from exchange.engine.enums import TradingState
from exchange.engine.events import TradingScheduleSet
from exchange.engine.reasons import Reject
from exchange.engine.validation import is_int, is_name

if TYPE_CHECKING:
    from exchange.engine.engine import Engine

SECONDS_PER_DAY = 86_400
MAX_TRANSITIONS = 16
# states only the engine enters (a volatility call) cannot be scheduled
SCHEDULABLE = frozenset(state for state in TradingState if state.name != "VOLATILITY_AUCTION")
_SCHEDULABLE_VALUES = frozenset(int(state) for state in SCHEDULABLE)


def transitions_valid(transitions: Any) -> bool:
    """True for `[[second, state], ...]` as documented above. O(transitions)."""
    if type(transitions) is not list or len(transitions) > MAX_TRANSITIONS:
        return False
    last = -1
    for transition in transitions:
        if type(transition) is not list or len(transition) != 2:
            return False
        second, state = transition
        if not (type(second) is int and last < second < SECONDS_PER_DAY):
            return False
        if type(state) is not int or state not in _SCHEDULABLE_VALUES:
            return False
        last = second
    return True


def set_trading_schedule(engine: Engine, cmd: SetTradingSchedule) -> None:
    if not (is_int(cmd.ts_us) and is_name(cmd.symbol) and transitions_valid(cmd.transitions)):
        engine.reject_command(Reject.INVALID_FIELD, f"trading schedule {cmd.symbol!r}"
                              if is_name(cmd.symbol) else "trading schedule")
        return
    if cmd.symbol not in engine.instruments:
        engine.reject_command(Reject.UNKNOWN_INSTRUMENT, f"symbol {cmd.symbol!r}")
        return
    engine.emit(TradingScheduleSet, cmd.symbol, [list(t) for t in cmd.transitions])
