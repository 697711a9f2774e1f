"""How an `exchange admin` command ends: its exit code, a Failure that carries one, and how a
result is shown (an aligned table, `key  value` lines, or one line)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

OK, REFUSED, USAGE, UNREACHABLE, AUTH = 0, 1, 2, 3, 4


class Failure(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


def table(rows: list[dict[str, Any]], columns: tuple[tuple[str, str], ...]) -> None:
    """Print rows as an aligned table (numbers right-aligned); "(none)" when empty."""
    if not rows:
        print("(none)")
        return
    cells = [[_cell(row.get(key)) for _, key in columns] for row in rows]
    widths = [max(len(header), *(len(line[n]) for line in cells))
              for n, (header, _) in enumerate(columns)]
    numeric = [all(re.fullmatch(r"-?[\d.]+|-|", line[n]) for line in cells)
               for n in range(len(columns))]

    def line(values: list[str]) -> str:
        return "  ".join(value.rjust(width) if right else value.ljust(width)
                         for value, width, right in zip(values, widths, numeric)).rstrip()

    print(line([header for header, _ in columns]))
    for values in cells:
        print(line(values))


def fields(result: dict[str, Any]) -> None:
    """Print one object as aligned `key  value` lines."""
    width = max((len(key) for key in result), default=0)
    for key, value in result.items():
        print(f"{key.ljust(width)}  {_cell(value)}")


def done(message: str) -> Callable[[Any], None]:
    def render(result: Any) -> None:
        seq = result.get("seq") if isinstance(result, dict) else None
        print(message if seq is None else f"{message} (seq {seq})")
    return render
