"""Long CLI operations say how far they have got, at most once a second, and nothing when short."""

from __future__ import annotations

import io

from exchange.cli.progress import Progress


def test_progress_prints_at_most_every_interval_and_a_closing_line() -> None:
    out = io.StringIO()
    progress = Progress("import f.csv", every_s=0.0, out=out)
    progress(500, 1000)
    progress(1000, 1000)
    progress.done()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("import f.csv: 500/1,000 (50%) rows, ")
    assert lines[1].startswith("import f.csv: 1,000/1,000 (100%) rows")
    assert lines[2].startswith("import f.csv: done in ")
    quiet = io.StringIO()
    short = Progress("export", out=quiet)
    short(10)
    short.done()
    assert quiet.getvalue() == ""
