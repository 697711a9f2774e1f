"""Field checks the naive model uses (tests/engine/model.py, model_calls.py).

Where docs/engine.md says nothing about a detail (what counts as a valid name), these take the
engine's choice.
"""

from __future__ import annotations

from typing import Any

BIG = 2**63 - 1  # "every integer must fit in 64 bits" (the engine takes the symmetric range)


def is_int(value: Any) -> bool:
    return type(value) is int and -BIG <= value <= BIG


def is_name(value: Any) -> bool:
    # Not in the doc; the engine's rule: a non-empty printable string of at most 64 characters.
    return type(value) is str and 0 < len(value) <= 64 and value.isprintable()


def is_member(value: Any, enum: type) -> bool:
    return isinstance(value, int) and type(value) is not bool and value in [m.value for m in enum]


def optional(check: Any, value: Any) -> bool:
    return value is None or check(value)


def positive(value: Any) -> bool:
    return is_int(value) and value > 0


def text(value: Any) -> str:
    """What a rejection event shows for a field that may not be printable text (the engine's
    choice: the text itself, else a bounded repr)."""
    return value if type(value) is str and value.isprintable() else repr(value)[:64]
