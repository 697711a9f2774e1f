"""`audit verify` also checks that the projections equal a rebuild from the replayed events."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from exchange.ledger import LedgerError, audit
from tests.ledger.history import history, write


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("projections") / "venue.db"
    write(path, history(900, seed=17), batch_size=30)
    return path


@pytest.fixture
def ledger(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "venue.db"
    shutil.copy(pristine, copy)
    return copy


def change(path: Path, sql: str, params: tuple = ()) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(sql, params)
    conn.close()


def test_the_written_projections_equal_a_rebuild(ledger: Path) -> None:
    summary = audit.verify(ledger)
    assert summary.projected_seq == summary.last_seq and summary.trades > 20


def test_a_changed_trade_is_named_at_its_seq(ledger: Path) -> None:
    trade_id, seq = sqlite3.connect(ledger).execute(
        "SELECT trade_id, seq FROM trades ORDER BY trade_id LIMIT 1 OFFSET 7").fetchone()
    change(ledger, "UPDATE trades SET price = price + 1 WHERE trade_id = ?", (trade_id,))
    with pytest.raises(LedgerError, match=f"seq {seq}: the trades projection's row "
                                          f"trade_id={trade_id} differs") as raised:
        audit.verify(ledger)
    assert raised.value.seq == seq


def test_a_deleted_order_and_an_extra_account_are_named(ledger: Path, tmp_path: Path) -> None:
    order_id, last_seq = sqlite3.connect(ledger).execute(
        "SELECT order_id, last_seq FROM orders ORDER BY order_id LIMIT 1 OFFSET 30").fetchone()
    change(ledger, "DELETE FROM orders WHERE order_id = ?", (order_id,))
    with pytest.raises(LedgerError, match=f"seq {last_seq}: the orders projection's row "
                                          f"order_id={order_id} is missing from the file"):
        audit.verify(ledger)
    audit.rebuild(ledger)
    audit.verify(ledger)
    change(ledger, "INSERT INTO accounts VALUES ('GHOST-1', 'GHOST')")
    with pytest.raises(LedgerError, match="accounts projection's row account='GHOST-1' is not "
                                          "in the rebuild"):
        audit.verify(ledger)


def test_a_text_where_an_integer_was_written_is_named(ledger: Path) -> None:
    trade_id, seq = sqlite3.connect(ledger).execute(
        "SELECT trade_id, seq FROM trades ORDER BY trade_id LIMIT 1").fetchone()
    change(ledger, "UPDATE trades SET qty = 'many' WHERE trade_id = ?", (trade_id,))
    with pytest.raises(LedgerError, match=f"seq {seq}: the trades projection's row"):
        audit.verify(ledger)


def test_projections_behind_their_mark_are_compared_up_to_the_mark(ledger: Path) -> None:
    """A crash can leave the projections behind the chain (the next open catches up): verify
    compares them with a rebuild up to their mark, and says so."""
    conn = sqlite3.connect(ledger, isolation_level=None)
    ends = [seq for (seq,) in conn.execute("SELECT last_seq FROM batches ORDER BY id")]
    conn.execute("UPDATE projected SET seq = ? WHERE name = 'projections'", (ends[-3],))
    conn.close()
    with pytest.raises(LedgerError, match="projection"):
        audit.verify(ledger)  # its rows are those of the head, not of the mark
    conn = sqlite3.connect(ledger, isolation_level=None)
    for table in ("accounts", "trades", "orders"):
        conn.execute(f"DELETE FROM {table}")
    conn.execute("UPDATE projected SET seq = 0 WHERE name = 'projections'")
    conn.close()
    summary = audit.verify(ledger)
    assert summary.projected_seq == 0
