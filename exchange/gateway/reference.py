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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TextIO

from exchange.engine import Event, ImportInstruments, InstrumentsImported
from exchange.engine.commands import AddInstrument
from exchange.engine.enums import TradingState
from exchange.engine.instrument import Instrument, format_price, parse_price, parse_qty
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
    place in an import), `column` the first bad column."""

    def __init__(self, line: int, column: str, msg: str) -> None:
        super().__init__(f"line {line}: {column}: {msg}")
        self.line = line
        self.column = column
        self.msg = msg


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
    skipped. RowError for a bad header or a line with the wrong number of values. Checks no
    values: that is `engine_row`'s job."""
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None:
        raise RowError(1, "header", "empty file")
    places = _header_places(header)
    width = len(header)
    picks = [places.get(column) for column in COLUMNS]
    required = [column in REQUIRED for column in COLUMNS]
    for values in reader:
        if len(values) != width:
            if not any(value.strip() for value in values):
                continue  # a blank line
            raise RowError(reader.line_num, "row",
                           f"{len(values)} values, the header names {width}")
        row: list[str | None] = []
        for place, needed in zip(picks, required):
            text = None if place is None else values[place].strip()
            row.append(text if text or needed else None)  # None: the default
        yield reader.line_num, row


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
            raise RowError(line, "symbol", f"{symbol!r} is also on line {seen[symbol]}")
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
