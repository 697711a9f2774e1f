"""Operator ops on reference data: list an instrument, bulk import (staged in chunks,
committed as one command), list and show, price bands."""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Mapping
from typing import Any

from exchange.engine import (
    AddInstrument,
    ImportInstruments,
    SetPriceBand,
    TradingState,
)
from exchange.engine.instrument import (
    format_price,
)
from exchange.engine.reasons import Reject
from exchange.gateway import listing, protocol
from exchange.gateway.jobs import now_us
from exchange.gateway.operators.base import (
    MAX_IMPORT_ROWS,
    MAX_LIST,
    _command,
    _count,
    _instrument,
    _query,
)
from exchange.gateway.protocol import Code, Request, RequestError
from exchange.gateway.reference import COLUMNS, engine_row, engine_rows, instrument_view
from exchange.gateway.session import Session
from exchange.gateway.venue import Venue

# add_instrument's arguments: the wire row's columns by name (`sym` for the symbol)
INSTRUMENT_FIELDS = tuple("sym" if column == "symbol" else column for column in COLUMNS)


def _wire_row(args: dict[str, Any]) -> list[Any]:
    return [args.get(field) for field in INSTRUMENT_FIELDS]


def _row_fields(row: Any, where: str) -> list[Any]:
    try:
        return engine_row(row)
    except ValueError as exc:
        raise RequestError(Code.BAD_REQUEST, f"{where}{exc}") from None


async def add_instrument(venue: Venue, session: Session, request: Request) -> None:
    args = request.args
    fields = _row_fields(_wire_row(args), "")
    state = protocol.choice(args, "state", TradingState, TradingState.OPEN)
    command = AddInstrument(now_us(), *fields)._replace(state=state)

    def make(venue: Venue, extra: dict[str, Any]) -> Any:
        extra["sym"] = command.symbol
        return command

    await _command(venue, session, request, make)


class _Staged:
    __slots__ = ("failed", "import_id", "rows", "symbols")

    def __init__(self, import_id: str) -> None:
        self.import_id = import_id
        self.rows: list[list[Any]] = []
        self.symbols: dict[str, int] = {}  # symbol -> its row (1-based)
        self.failed = False


_staged: weakref.WeakKeyDictionary[Session, _Staged] = weakref.WeakKeyDictionary()


async def import_instruments(venue: Venue, session: Session, request: Request) -> None:
    """Stage a chunk of rows (`more: true`) or commit the import with its last chunk."""
    args = request.args
    import_id = protocol.name(args, "import_id")
    rows = args.get("rows", [])
    more = protocol.flag(args, "more")
    staged = _staged.get(session)
    if staged is None or staged.import_id != import_id:
        staged = _staged[session] = _Staged(import_id)
    if staged.failed:
        raise RequestError(Code.BAD_REQUEST, f"import {import_id!r} already failed")
    try:
        _stage(staged, rows, venue.engine.instruments)
    except RequestError:
        staged.failed, staged.rows = True, []
        raise
    if more:
        session.send(protocol.ok(request.id, {"import_id": import_id, "staged": len(staged.rows)}))
        return
    del _staged[session]
    total = _count(args, "total", None)
    if total is not None and total != len(staged.rows):
        raise RequestError(Code.BAD_REQUEST, f"import {import_id!r}: {len(staged.rows)} rows "
                                             f"arrived, total says {total}")
    command = ImportInstruments(now_us(), staged.rows)

    def make(venue: Venue, extra: dict[str, Any]) -> Any:
        extra.update(import_id=import_id, imported=len(command.rows))
        return command

    await _command(venue, session, request, make)


def _stage(staged: _Staged, rows: Any, listed: Mapping[str, Any]) -> None:
    """Convert and check a chunk's rows as they arrive; a symbol twice in the import, or one
    already listed, is named now (the engine would refuse the whole import at the commit).
    The chunk is converted and checked in bulk (`engine_rows`, set operations); a chunk with
    anything wrong in it goes through `_stage_rows`, which names the first bad row."""
    if type(rows) is not list:
        raise RequestError(Code.BAD_REQUEST, "rows must be a list")
    start = len(staged.rows)
    if start + len(rows) > MAX_IMPORT_ROWS:
        raise RequestError(Code.BAD_REQUEST, f"an import holds at most {MAX_IMPORT_ROWS} rows")
    try:
        converted = engine_rows(rows)
    except ValueError:
        _stage_rows(staged, rows, listed)
        return
    symbols = [fields[0] for fields in converted]
    known = staged.symbols
    if (len(set(symbols)) != len(symbols) or not known.keys().isdisjoint(symbols)
            or any(map(listed.__contains__, symbols))):
        _stage_rows(staged, rows, listed)
        return
    known.update(zip(symbols, range(start + 1, start + 1 + len(symbols))))
    staged.rows += converted


def _stage_rows(staged: _Staged, rows: list[Any], listed: Mapping[str, Any]) -> None:
    """_stage row by row: RequestError for the first bad row, naming it."""
    start = len(staged.rows)
    append, symbols = staged.rows.append, staged.symbols
    for number, row in enumerate(rows, start + 1):
        fields = _row_fields(row, f"row {number}: ")
        symbol = fields[0]
        if symbol in symbols or symbol in listed:
            why = f"is also on row {symbols[symbol]}" if symbol in symbols else "is listed already"
            raise RequestError(Reject.DUPLICATE_INSTRUMENT.name,
                               f"row {number}: symbol: {symbol!r} {why}")
        symbols[symbol] = number
        append(fields)


def _matches(view: dict[str, Any], filters: dict[str, str]) -> bool:
    return all(view[key].casefold() == wanted for key, wanted in filters.items())


async def list_instruments(venue: Venue, session: Session, request: Request) -> None:
    args = request.args
    filters = {key: protocol.name(args, arg).casefold() for key, arg in (
        ("commodity", "commodity"), ("location", "location"),
        ("delivery_period", "period"), ("state", "state")) if args.get(arg) is not None}
    limit, cursor = listing.page_args(args, MAX_LIST)
    start = cursor or 0

    def read(venue: Venue) -> dict[str, Any]:  # paged as the trader's instruments (listing.py)
        instruments = venue.engine.instruments
        views = enumerate(map(instrument_view, itertools.islice(instruments.values(), start,
                                                                None)), start)
        found, next_cursor = listing.page(((str(position + 1), view) for position, view in views
                                           if _matches(view, filters)), limit)
        total = len(instruments) if not filters else sum(
            1 for instrument in instruments.values() if _matches(instrument_view(instrument),
                                                                 filters))
        return {"instruments": found, "total": total, "next_cursor": next_cursor}

    await _query(venue, session, request, read)


async def show_instrument(venue: Venue, session: Session, request: Request) -> None:
    args = request.args

    def read(venue: Venue) -> dict[str, Any]:
        instrument = _instrument(venue, args)
        view = instrument_view(instrument)
        book = venue.engine.books[instrument.symbol]
        decimals = instrument.spec.price_decimals
        for side, ladder in (("bid", book.bids), ("ask", book.asks)):
            best = ladder.best()
            view[f"best_{side}_px"] = None if best is None else format_price(best.price, decimals)
            view[f"best_{side}_qty"] = None if best is None else str(best.total)
            view[f"{side}_levels"] = len(ladder.levels)
        view["resting_orders"] = sum(1 for _ in book.orders())
        return view

    await _query(venue, session, request, read)


async def set_price_band(venue: Venue, session: Session, request: Request) -> None:
    """Set the reference price and/or the band (in ticks); absent fields keep their value;
    `clear: true` removes the band."""
    args = request.args
    clear = protocol.flag(args, "clear")
    band = _count(args, "band_ticks", None)
    if clear and band is not None:
        raise RequestError(Code.BAD_REQUEST, "band_ticks and clear exclude each other")

    def make(venue: Venue, extra: dict[str, Any]) -> Any:
        instrument = _instrument(venue, args)
        decimals = instrument.spec.price_decimals
        reference = protocol.price(args, "reference_px", decimals, required=False)
        if reference is None:
            reference = instrument.reference_price
        ticks = None if clear else instrument.band_ticks if band is None else band
        extra["sym"] = instrument.symbol
        return SetPriceBand(now_us(), instrument.symbol, reference, ticks)

    await _command(venue, session, request, make)
