"""A refused instrument spec names its bad field: in the gateway's reject of `add_instrument`,
in each bad row of an import (by its line), and `instruments import --check` says exactly what
the venue says of the same file."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.cli.main import main
from exchange.client import ExchangeError
from exchange.engine import AddInstrument
from exchange.engine.validation import instrument_spec
from exchange.gateway.spec_faults import spec_fault
from tests.admin.test_cli import admin
from tests.gateway.conftest import open_venue

EDGES = st.one_of(st.integers(-3, 12), st.sampled_from([2**63 - 1, 2**63, -(2**63), 10**12]),
                  st.integers(-(2**64), 2**64))
OPTIONAL = st.one_of(st.none(), EDGES)


@given(lot=EDGES, tick=EDGES, decimals=st.integers(-1, 8), min_qty=EDGES, max_qty=EDGES,
       reference=OPTIONAL, band=OPTIONAL, min_px=OPTIONAL, max_px=OPTIONAL,
       commodity=st.sampled_from(["urea", "", "\x00", "x" * 201]))
def test_the_named_fault_has_the_engines_reason_for_every_spec(
        lot: int, tick: int, decimals: int, min_qty: int, max_qty: int, reference: int | None,
        band: int | None, min_px: int | None, max_px: int | None, commodity: str) -> None:
    spec = AddInstrument(1, "X-1", commodity, "g", "loc", "2027-Q3", "t", lot, tick, decimals,
                         min_qty, max_qty, reference, band, min_price=min_px, max_price=max_px)
    fault = spec_fault(spec)
    assert (fault and fault[0]) == instrument_spec(spec), fault


def test_each_rule_names_its_field() -> None:
    base = AddInstrument(1, "X-1", "urea", "g", "loc", "2027-Q3", "t", 100, 25, 2, 1, 100)
    cases = {
        "max_qty: 10 is below min_qty 50": base._replace(min_qty=50, max_qty=10),
        "lot_size: 0 is not a positive": base._replace(lot_size=0),
        "tick: 0.00 is not positive": base._replace(tick_size=0),
        "price_decimals: 7 is not 0 to 6": base._replace(price_decimals=7),
        "min_px: 1.10 is not a multiple of the tick 0.25": base._replace(min_price=110),
        "max_px: 5.00 is below min_px 6.00": base._replace(min_price=600, max_price=500),
        "max_px: max_qty 100 lots at 100000000000.00 are worth": base._replace(
            max_price=10**13),
        "reference_px: 1.10 is not a multiple": base._replace(reference_price=110),
        "reference_px: 9.00 is outside the price range 0.25 to 5.00": base._replace(
            reference_price=900, max_price=500),
        "band_ticks: -1 is negative": base._replace(band_ticks=-1),
    }
    for expected, spec in cases.items():
        fault = spec_fault(spec)
        assert fault is not None and fault[1].startswith(expected), (expected, fault)
        assert fault[0] is instrument_spec(spec)
    assert spec_fault(base) is None and instrument_spec(base) is None


async def test_add_instrument_reject_names_the_field(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        operator = await venue.client("operator")
        with pytest.raises(ExchangeError) as refused:
            await operator.request("add_instrument", sym="U-9", commodity="urea", grade="g",
                                   location="loc", delivery_period="2027-Q3", unit="t",
                                   lot_size="100", tick="0.25", price_decimals="2",
                                   min_qty="50", max_qty="10")
        assert refused.value.code == "INVALID_INSTRUMENT_SPEC"
        assert refused.value.msg == "add instrument 'U-9': max_qty: 10 is below min_qty 50"
        code, _, err = await admin(venue, "instruments", "add", "U-9", "--commodity", "urea",
                                   "--grade", "g", "--location", "loc", "--period", "2027-Q3",
                                   "--unit", "t", "--lot", "100", "--tick", "0.25",
                                   "--decimals", "2", "--max-px", "100000000000.00")
        assert code == 1 and "max_px: max_qty 1000000 lots at 100000000000.00" in err, err


HEADER = "symbol,commodity,grade,location,period,unit,lot,tick,decimals,min_qty,max_qty," \
         "reference_px,band,max_px\n"


def row(symbol: str, min_qty: str = "1", max_qty: str = "100", reference: str = "385.00",
        tick: str = "0.25", max_px: str = "") -> str:
    return (f"{symbol},urea,46% N,CFR Antwerp,2027-Q3,t,100,{tick},2,{min_qty},{max_qty},"
            f"{reference},200,{max_px}\n")


BAD_FILES = {  # the bad row is always on line 4 (after the header and two good rows)
    "max_qty: 10 is below min_qty 50 (INVALID_INSTRUMENT_SPEC)": row("B", "50", "10"),
    "reference_px: 385.10 is not a multiple of the tick 0.25 (INVALID_PRICE_INCREMENT)":
        row("B", reference="385.10"),
    "reference_px: 385.00 is outside the price range 0.25 to 300.00 (PRICE_OUT_OF_RANGE)":
        row("B", max_px="300.00"),
    "max_px: max_qty 100 lots at 100000000000000.00 are worth": row("B", max_px="1" + "0" * 14),
    "tick: not a decimal price: '0.2x' (BAD_REQUEST)": row("B", tick="0.2x"),
    "symbol: 'A1' is also on line 2 (DUPLICATE_INSTRUMENT)": row("A1"),
}


async def test_import_check_says_exactly_what_the_venue_says(tmp_path: Path) -> None:
    """Each bad file: `--check` (offline) and the import (online) print the same line, which
    names the file's line and the bad field, and the venue lists nothing."""
    async with open_venue(tmp_path / "l.db") as venue:
        for number, (expected, bad_row) in enumerate(BAD_FILES.items()):
            path = tmp_path / f"bad{number}.csv"
            path.write_text(HEADER + row("A1") + row("A2") + bad_row)
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                checked = main(["admin", "--url", "ws://127.0.0.1:9", "--key", "k.s",
                                "instruments", "import", "--check", str(path)])
            online, _, online_err = await admin(venue, "instruments", "import", str(path))
            assert (checked, online) == (1, 1)
            assert err.getvalue() == online_err, (err.getvalue(), online_err)
            assert online_err.startswith(f"exchange admin: {path} line 4: ")
            assert expected in online_err and online_err.endswith("; nothing imported\n")
        assert not {"A1", "A2", "B"} & set(venue.server.venue.engine.instruments)  # type: ignore[union-attr]


def test_import_check_of_a_long_file_shows_progress_on_stderr(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from exchange.cli import progress

    monkeypatch.setattr(progress, "EVERY_S", 0.0)
    path = tmp_path / "many.csv"
    path.write_text(HEADER + "".join(row(f"M-{n}") for n in range(50)))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["admin", "--url", "ws://127.0.0.1:9", "--key", "k.s", "instruments",
                     "import", "--check", str(path)])
    lines = err.getvalue().splitlines()
    assert code == 0 and out.getvalue() == f"{path}: 50 rows are good\n"
    assert f"check {path}: 50 rows" in "\n".join(lines) and lines[-1].startswith(
        f"check {path}: done in ")


def test_a_duplicate_symbol_is_named_in_the_engines_reject() -> None:
    from exchange.engine import Engine, ImportInstruments
    from exchange.engine.events import CommandRejected
    from exchange.gateway.spec_faults import rejected_detail

    spec = AddInstrument(1, "X-1", "urea", "g", "loc", "2027-Q3", "t", 100, 25, 2, 1, 100)
    engine = Engine()
    engine.apply(spec)
    again = engine.apply(spec)[0]
    assert type(again) is CommandRejected
    assert rejected_detail(again, spec) == "add instrument 'X-1': symbol: 'X-1' is listed already"
    rows = [list(spec[1:]), list(spec[1:])]
    twice = ImportInstruments(1, rows)
    rejected = Engine().apply(twice)[0]
    assert rejected_detail(rejected, twice) == (  # type: ignore[arg-type]
        "import instruments: row 2: symbol: 'X-1' is listed already or on an earlier row")
