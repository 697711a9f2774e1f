"""How far a long CLI operation has got, on stderr, at most once a second (so short runs and
tests print nothing): `Progress("import")(done, total)` then `.done()`. Results go to stdout,
so a piped or redirected output never holds a progress line."""

from __future__ import annotations

import sys
import time
from typing import TextIO

EVERY_S = 1.0  # the least time between two progress lines


class Progress:
    def __init__(self, what: str, unit: str = "rows", every_s: float | None = None,
                 out: TextIO | None = None) -> None:
        self.what, self.unit = what, unit
        self.every_s = EVERY_S if every_s is None else every_s
        self.out = out if out is not None else sys.stderr
        self._started = self._shown = time.monotonic()
        self._printed = False

    def __call__(self, done: int, total: int | None = None) -> None:
        now = time.monotonic()
        if now - self._shown < self.every_s:
            return
        self._shown = now
        rate = done / max(now - self._started, 1e-9)
        share = f"/{total:,} ({100 * done // max(total, 1)}%)" if total else ""
        print(f"{self.what}: {done:,}{share} {self.unit}, {rate:,.0f} {self.unit}/s",
              file=self.out, flush=True)
        self._printed = True

    def done(self) -> None:
        if self._printed:
            print(f"{self.what}: done in {time.monotonic() - self._started:.1f} s",
                  file=self.out, flush=True)
