"""The head mark file: one fixed-size record rewritten in place, read back exactly."""

from __future__ import annotations

from pathlib import Path

from exchange.ledger import headmark
from exchange.ledger.schema import BatchRecord


def record(n: int) -> BatchRecord:
    return BatchRecord(n, n * 10 - 9, n * 10, "0" * 64, "1" * 64, "2" * 64,
                       f"{n:064x}", "3" * 128)


def test_each_write_replaces_the_mark_in_place_and_the_file_keeps_its_size(
        tmp_path: Path) -> None:
    path = tmp_path / "l.db.head"
    writer = headmark.MarkWriter(path)
    for n in (1, 2, 10**12):
        writer.write(record(n))
        assert path.stat().st_size == headmark.RECORD
        assert headmark.read(path) == headmark.Mark(n * 10, n, f"{n:064x}")
    writer.close(record(7))
    assert headmark.read(path) == headmark.Mark(70, 7, f"{7:064x}")


def test_a_longer_mark_written_by_hand_is_cut_to_the_record(tmp_path: Path) -> None:
    path = tmp_path / "l.db.head"
    path.write_text(f"{headmark.line(record(3))}\n" + "(a checkpoint's later lines) " * 20)
    writer = headmark.MarkWriter(path)
    writer.write(record(4))
    assert path.stat().st_size == headmark.RECORD
    assert headmark.read(path) == headmark.Mark(40, 4, f"{4:064x}")
    writer.close(None)


def test_the_largest_numbers_fit_the_record() -> None:
    biggest = record(1)._replace(id=2**63 - 1, last_seq=2**63 - 1)
    assert len(headmark.line(biggest)) < headmark.RECORD - 1
