"""Bulk conversion of import rows (reference.engine_rows) is engine_row, row by row: the same
fields for every good chunk, and for a chunk with a bad row the same error engine_row gives."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.gateway.reference import engine_row, engine_rows


def outcome(function: Any, argument: Any) -> tuple[str, Any]:
    try:
        value = function(argument)
    except Exception as exc:  # noqa: BLE001 - the outcome compared is the exception itself
        return type(exc).__name__, str(exc)
    return "value", [[(type(v), v) for v in row] for row in value]


def row_by_row(rows: list[Any]) -> list[list[Any]]:
    return [engine_row(row) for row in rows]


def row(n: int, **changes: Any) -> list[Any]:
    values = {"symbol": f"S-{n}", "commodity": "wheat", "grade": "A", "location": "depot",
              "delivery_period": "2027-03", "unit": "t", "lot_size": "20", "tick": "0.25",
              "price_decimals": "2", "min_qty": "1", "max_qty": "500", "reference_px": "210.50",
              "band_ticks": "50", "min_px": None, "max_px": None}
    values.update(changes)
    return list(values.values())


def test_a_usual_chunk_converts_as_engine_row_does() -> None:
    rows = [row(n) for n in range(50)] + [row(99, min_qty=None, reference_px=None,
                                                 band_ticks=None, min_px="0.25", max_px="9")]
    assert outcome(engine_rows, rows) == outcome(row_by_row, rows)
    assert engine_rows([row(1)[:13]]) == [engine_row(row(1)[:13])]
    assert engine_rows([]) == []


TEXTS = st.sampled_from(["", "0", "1", "20", "020", "0.25", "210.5", "210.50", "210.505", "-1",
                         "1e3", " 7", "٣", "²", "9" * 18, "9" * 19, "1\n2", "99999999999999999.9",
                         "9223372036854775807", "9223372036854775808", "0.0", "00.1", ".5"])
VALUES = st.one_of(TEXTS, st.none(), st.integers(-5, 5), st.text(max_size=4))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 14), VALUES), max_size=4), st.integers(1, 5),
       st.integers(0, 4), st.booleans())
def test_any_chunk_converts_or_fails_as_engine_row_does(
        changes: list[tuple[int, Any]], count: int, where: int, short: bool) -> None:
    rows = [row(n) for n in range(count)]
    target = rows[where % count]
    for column, value in changes:
        target[column] = value
    if short:
        rows = [r[:13] for r in rows]
    assert outcome(engine_rows, rows) == outcome(row_by_row, rows)


def old_read_csv(handle: Any) -> Any:
    """read_csv as it was before it worked by blocks (e89036b), for comparison."""
    import csv

    from exchange.gateway import reference
    reader = csv.reader(handle)
    header = next(reader, None)
    names = [reference.ALIASES.get(raw.strip().lower(), raw.strip().lower()) for raw in header]
    places = {name: place for place, name in enumerate(names)}
    width = len(header)
    picks = [places.get(column) for column in reference.COLUMNS]
    required = [column in reference.REQUIRED for column in reference.COLUMNS]
    for values in reader:
        if len(values) != width:
            if not any(value.strip() for value in values):
                continue
            raise reference.RowError(reader.line_num, "row", f"{len(values)} values")
        row = []
        for place, needed in zip(picks, required):
            text = None if place is None else values[place].strip()
            row.append(text if text or needed else None)
        yield reader.line_num, row


def test_read_csv_by_blocks_gives_the_lines_and_rows_it_gave_row_by_row() -> None:
    import io

    from exchange.gateway.reference import RowError, read_csv
    lines = ["tick,sym,commodity,grade,location,period,unit,lot,decimals,band,reference"]
    for n in range(700):
        lines.append(f" 0.25 ,S-{n},wheat, A ,depot,2027-03,t,20,2,{'' if n % 3 else n},"
                     f"{'' if n % 5 else ' 210.50'}")
        if n % 97 == 0:
            lines += ["", " , ,,,,,,,,,"]  # blank lines: skipped
        if n == 400:
            lines.append('0.25,"S-\nmulti",wheat,A,depot,2027-03,t,20,2,,')  # two lines
    text = "\n".join(lines) + "\n"
    assert list(read_csv(io.StringIO(text))) == list(old_read_csv(io.StringIO(text)))
    bad = text + "0.25,S-X\n"
    rows = read_csv(io.StringIO(bad))
    expected = list(old_read_csv(io.StringIO(text)))
    assert [next(rows) for _ in expected] == expected  # every good row before the error
    with pytest.raises(RowError) as error:
        next(rows)
    assert error.value.line == text.count("\n") + 1
