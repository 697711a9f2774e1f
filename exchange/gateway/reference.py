"""Reference data at the edge: instrument rows as operators write them, and as the venue shows them.
Pure; shared by the admin CLI (which checks a whole CSV file before sending any of it) and the
gateway (which checks every row again, never trusting a client).

A *wire row* is the list of `COLUMNS` values as strings (None for an empty optional column):
prices (`tick`, `reference_px`) are decimal strings at the row's `price_decimals`, every other
number a string of digits. `engine_row` turns one into the fields of an `AddInstrument` after
`ts_us`, exactly (`parse_price`, never floats), or raises ValueError naming the column. The
engine then judges the terms (positive lot and tick, min <= max, reference on the tick) and
takes a bulk listing all or none.

The gateway learns of instruments listed in bulk through `imported_specs` (it shares the
engine's own `AddInstrument` values, so a listing costs the gateway no second copy), and makes a
market-data feed only for an instrument that is traded or watched (`FeedsOnDemand`): most of a
large reference-data load is never traded on a given day.

Costs: `engine_row` O(row); `read_csv` O(file); `FeedsOnDemand` O(1) per lookup.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import repeat
from typing import Any, TextIO

from exchange.engine import Event, ImportInstruments, InstrumentsImported
from exchange.engine.commands import AddInstrument
from exchange.engine.enums import TradingState
from exchange.engine.instrument import (
    INT64_MAX,
    Instrument,
    format_price,
    parse_price,
    parse_qty,
)
from exchange.engine.validation import MAX_ID_LENGTH, MAX_TEXT_LENGTH, is_name, is_text

COLUMNS = ("symbol", "commodity", "grade", "location", "delivery_period", "unit", "lot_size",
           "tick", "price_decimals", "min_qty", "max_qty", "reference_px", "band_ticks",
           "min_px", "max_px")
REQUIRED = frozenset(COLUMNS[:9])
# header spellings accepted in a CSV file (after lower-casing and spaces to underscores)
ALIASES = {"sym": "symbol", "period": "delivery_period", "lot": "lot_size",
           "tick_size": "tick", "decimals": "price_decimals", "min": "min_qty", "max": "max_qty",
           "reference_price": "reference_px", "reference": "reference_px", "band": "band_ticks"}


class RowError(ValueError):
    """A row that cannot become an instrument: `line` is its line in the file (or its 1-based
    place in an import), `column` the first bad column, `code` the error code the venue answers
    such a row with."""

    def __init__(self, line: int, column: str, msg: str, code: str = "BAD_REQUEST") -> None:
        super().__init__(f"line {line}: {column}: {msg}")
        self.line = line
        self.column = column
        self.msg = msg
        self.code = code


def _count(column: str, text: Any) -> int:
    """A whole number by the gateway's one rule (`parse_qty`: ASCII digits, no leading zeros)."""
    try:
        return parse_qty(text)
    except ValueError:
        raise ValueError(f"{column}: {ascii(text)[:40]} is not a whole number") from None


def engine_row(row: Sequence[Any]) -> list[Any]:
    """The AddInstrument fields (after ts_us) for a wire row; ValueError("column: why").
    Written flat: a bulk listing runs it for every row, on both sides of the wire."""
    if type(row) not in (list, tuple) or len(row) not in (len(COLUMNS) - 2, len(COLUMNS)):
        raise ValueError(f"row: a list of {len(COLUMNS)} values ({', '.join(COLUMNS)}); "
                         "the last two (the price range) may be left out")
    (symbol, commodity, grade, location, period, unit, lot, tick, decimals, min_qty, max_qty,
     reference, band, min_px, max_px) = (*row, None, None)[:len(COLUMNS)]
    for column, text in zip(COLUMNS, (symbol, commodity, grade, location, period, unit)):
        if type(text) is not str or not text:
            raise ValueError(f"{column}: required")
        if not is_text(text):  # printable, so encodable: no lone surrogate, no control
            raise ValueError(f"{column}: {ascii(text)[:40]} is not printable text "
                             f"of at most {MAX_TEXT_LENGTH} characters")
    if not is_name(symbol):
        raise ValueError(f"symbol: at most {MAX_ID_LENGTH} characters")
    places = _count("price_decimals", decimals)
    return [symbol, commodity, grade, location, period, unit, _count("lot_size", lot),
            _price("tick", tick, places), places,
            1 if min_qty is None else _count("min_qty", min_qty),
            1_000_000 if max_qty is None else _count("max_qty", max_qty),
            None if reference is None else _price("reference_px", reference, places),
            None if band is None else _count("band_ticks", band), TradingState.OPEN,
            None if min_px is None else _price("min_px", min_px, places),
            None if max_px is None else _price("max_px", max_px, places)]


def engine_rows(rows: Sequence[Any]) -> list[list[Any]]:
    """`[engine_row(row) for row in rows]`, column by column at C speed where the rows hold
    the usual spellings (each check below is narrower than `engine_row`'s, so it accepts
    nothing that one refuses); anything else, and every error, is `engine_row`'s, row by row,
    so the first bad row raises what it raises. Cost: O(values), a few C calls per column."""
    try:
        return _columns_to_rows(rows)
    except _NotCanonical:
        return [engine_row(row) for row in rows]


class _NotCanonical(Exception):
    """Internal: a column the bulk path leaves to engine_row."""


_COUNTS = re.compile(r"(?:0|[1-9][0-9]{0,17})(?:\n(?:0|[1-9][0-9]{0,17}))*", re.ASCII)
_PRICES = re.compile(r"(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:\n(?:0|[1-9][0-9]*)(?:\.[0-9]+)?)*",
                     re.ASCII)
_MAX_BULK_DECIMALS = 18


def _canonical(texts: Sequence[Any], pattern: re.Pattern[str]) -> None:
    """_NotCanonical unless every value is a str and all of them, one a line, match."""
    if not texts:
        return
    if set(map(type, texts)) != {str}:
        raise _NotCanonical
    joined = "\n".join(texts)
    if joined.count("\n") != len(texts) - 1 or pattern.fullmatch(joined) is None:
        raise _NotCanonical


def _counts(texts: Sequence[Any]) -> list[int]:
    _canonical(texts, _COUNTS)
    return list(map(int, texts))


def _units(text: str, decimals: int) -> int:
    whole, _, fraction = text.partition(".")
    if len(fraction) > decimals:
        raise _NotCanonical
    return int(whole + fraction.ljust(decimals, "0"))


def _prices_of(texts: Sequence[Any], places: Sequence[int]) -> list[int]:
    _canonical(texts, _PRICES)
    units = list(map(_units, texts, places))
    if units and max(units) > INT64_MAX:
        raise _NotCanonical
    return units


def _optional(column: Sequence[Any], convert: Callable[..., list[Any]], default: Any,
              places: Sequence[int] | None = None) -> list[Any]:
    """convert over the values present; `default` where a value is None."""
    if None not in column:
        return convert(column) if places is None else convert(column, places)
    present = [value for value in column if value is not None]
    if places is None:
        converted = iter(convert(present))
    else:
        converted = iter(convert(present, [p for v, p in zip(column, places) if v is not None]))
    return [default if value is None else next(converted) for value in column]


def _columns_to_rows(rows: Sequence[Any]) -> list[list[Any]]:
    if not rows:
        return []
    if set(map(type, rows)) - {list, tuple}:
        raise _NotCanonical
    widths = set(map(len, rows))
    if widths not in ({len(COLUMNS)}, {len(COLUMNS) - 2}):
        raise _NotCanonical
    columns = list(zip(*rows))
    if len(columns) == len(COLUMNS) - 2:
        columns += [(None,) * len(rows)] * 2
    for text in columns[:6]:  # symbol .. unit: required printable text (is_text, is_name)
        if (set(map(type, text)) != {str} or "" in text or not "".join(text).isprintable()
                or max(map(len, text)) > MAX_TEXT_LENGTH):
            raise _NotCanonical
    if max(map(len, columns[0])) > MAX_ID_LENGTH:
        raise _NotCanonical
    places = _counts(columns[8])
    if max(places) > _MAX_BULK_DECIMALS:
        raise _NotCanonical
    return list(map(list, zip(
        *columns[:6], _counts(columns[6]), _prices_of(columns[7], places), places,
        _optional(columns[9], _counts, 1), _optional(columns[10], _counts, 1_000_000),
        _optional(columns[11], _prices_of, None, places), _optional(columns[12], _counts, None),
        [TradingState.OPEN] * len(rows), _optional(columns[13], _prices_of, None, places),
        _optional(columns[14], _prices_of, None, places))))


_prices: dict[tuple[Any, int], int] = {}  # (text, decimals) -> units: ticks repeat a lot


def _price(column: str, text: Any, decimals: int) -> int:
    units = _prices.get((text, decimals)) if type(text) is str else None
    if units is not None:
        return units
    if type(text) is not str:
        raise ValueError(f"{column}: a decimal string is required")
    try:
        units = parse_price(text, decimals)
    except ValueError as exc:
        raise ValueError(f"{column}: {exc}") from None
    if len(_prices) >= 4096:
        _prices.clear()
    _prices[text, decimals] = units
    return units


def read_csv(handle: TextIO) -> Iterator[tuple[int, list[str | None]]]:
    """(line number, wire row) for each data line of a CSV file with a header line naming the
    columns (any order; `ALIASES` accepted; unknown columns are an error). Blank lines are
    skipped. RowError for a bad header or a line with the wrong number of values (after the
    rows before it). Checks no values: that is `engine_row`'s job. Rows are picked and
    stripped a block at a time, column by column (C-speed map/zip, no per-value Python code)."""
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None:
        raise RowError(1, "header", "empty file")
    places = _header_places(header)
    width = len(header)
    picks = [(places.get(column), column in REQUIRED) for column in COLUMNS]
    lines: list[int] = []
    block: list[list[str]] = []
    for values in reader:
        if len(values) != width:
            if not any(value.strip() for value in values):
                continue  # a blank line
            yield from _wire_rows(lines, block, picks)
            raise RowError(reader.line_num, "row",
                           f"{len(values)} values, the header names {width}")
        block.append(values)
        lines.append(reader.line_num)
        if len(block) == _BLOCK_ROWS:
            yield from _wire_rows(lines, block, picks)
            lines, block = [], []
    yield from _wire_rows(lines, block, picks)


_BLOCK_ROWS = 256


def _wire_rows(lines: list[int], block: list[list[str]], picks: list[tuple[int | None, bool]]
               ) -> Iterator[tuple[int, list[str | None]]]:
    """The block's values in COLUMNS order, stripped; an empty optional value is None."""
    if not block:
        return
    values = list(zip(*block))
    columns: list[Iterable[str | None]] = []
    for place, needed in picks:
        if place is None:
            columns.append(repeat(None))
            continue
        stripped = list(map(str.strip, values[place]))
        columns.append(stripped if needed else [text or None for text in stripped])
    yield from zip(lines, map(list, zip(*columns)))


def _header_places(header: list[str]) -> dict[str, int]:
    places: dict[str, int] = {}
    for place, raw in enumerate(header):
        name = raw.strip().lower().replace(" ", "_").replace("-", "_")
        name = ALIASES.get(name, name)
        if name not in COLUMNS:
            raise RowError(1, "header", f"unknown column {raw!r} (columns: {', '.join(COLUMNS)})")
        if name in places:
            raise RowError(1, "header", f"column {name!r} named twice")
        places[name] = place
    missing = [column for column in COLUMNS if column in REQUIRED and column not in places]
    if missing:
        raise RowError(1, "header", f"missing column(s) {', '.join(missing)}")
    return places


def check_rows(rows: Iterable[tuple[int, list[str | None]]]) -> list[tuple[int, list[str | None]]]:
    """Every row checked as the venue will (`engine_row`, and no symbol twice); RowError at the
    first bad one. Returns the rows, so that nothing is sent before everything is checked."""
    checked: list[tuple[int, list[str | None]]] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        try:
            engine_row(row)
        except ValueError as exc:
            column, _, msg = str(exc).partition(": ")
            raise RowError(line, column, msg) from None
        symbol = row[0]
        if symbol in seen:
            raise RowError(line, "symbol", f"{symbol!r} is also on line {seen[symbol]}",
                           "DUPLICATE_INSTRUMENT")
        seen[symbol] = line  # type: ignore[index]
        checked.append((line, row))
    return checked


# -- the venue's side ----------------------------------------------------------------------


def imported_specs(command: object, events: list[Event],
                   instruments: Mapping[str, Instrument]) -> Iterator[tuple[str, AddInstrument]]:
    """(symbol, spec) for each instrument an accepted ImportInstruments listed, with the engine's
    own spec values (the engine must already have applied it); nothing for anything else."""
    if type(command) is not ImportInstruments:
        return
    if not any(type(event) is InstrumentsImported for event in events):
        return
    for row in command.rows:
        symbol = row[0]
        yield symbol, instruments[symbol].spec


class FeedsOnDemand(dict):  # type: ignore[type-arg]
    """A market-data feed per symbol, made at its first use (a book change, a subscription)."""

    def __init__(self, make: Callable[[str], Any], feeds: Mapping[str, Any]) -> None:
        super().__init__(feeds)
        self._make = make

    def __missing__(self, symbol: str) -> Any:
        self[symbol] = feed = self._make(symbol)
        return feed


def instrument_view(instrument: Instrument) -> dict[str, Any]:
    """How an operator sees an instrument: its spec with the live state, reference and band."""
    spec = instrument.spec
    decimals = spec.price_decimals
    reference = instrument.reference_price
    band = instrument.band_ticks
    return {
        "sym": spec.symbol, "commodity": spec.commodity, "grade": spec.grade,
        "location": spec.location, "delivery_period": spec.delivery_period, "unit": spec.unit,
        "lot_size": str(spec.lot_size), "tick": format_price(spec.tick_size, decimals),
        "price_decimals": decimals, "min_qty": str(spec.min_qty), "max_qty": str(spec.max_qty),
        "reference_px": None if reference is None else format_price(reference, decimals),
        "band_ticks": None if band is None else str(band),
        "min_px": format_price(instrument.min_price, decimals),
        "max_px": format_price(instrument.max_price, decimals),
        "state": instrument.state.name,
    }
