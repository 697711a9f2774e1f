"""The record of the ledger's background writes (snapshots, projections): failures counted,
the last one's error kept while they fail, and logged once when a run of failures starts and
once when it ends. The writer thread tells it what happened; the record itself is kept on the
event loop's thread (so `health()` reads it there without a lock)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("exchange.ledger")


class BackgroundRecord:
    """How the background writes of the ledger at `path` are going."""

    def __init__(self, path: Path, loop: asyncio.AbstractEventLoop) -> None:
        self.path = path
        self.loop = loop
        self.failures = 0  # background writes that failed, this run
        self.error: str | None = None  # the last failure, while they fail
        self._failing = 0  # consecutive failures (loop side)
        self._told_failure = False  # a failure was told, not yet its end (writer thread side)

    # on the writer thread:

    def failed(self, what: str, exc: Exception) -> None:
        self._told_failure = True
        self.tell(self._failed, what, exc)

    def succeeded(self, what: str) -> None:
        if self._told_failure:
            self._told_failure = False
            self.tell(self._succeeded, what)

    def tell(self, function: Callable[..., None], *args: Any) -> None:
        """`function(*args)` on the loop's thread, soon."""
        try:
            self.loop.call_soon_threadsafe(function, *args)
        except RuntimeError:  # the loop is closed
            pass

    # on the loop:

    def _failed(self, what: str, exc: Exception) -> None:
        self.failures += 1
        self.error = f"{what}: {type(exc).__name__}: {exc}"
        if self._failing == 0:
            log.error("ledger %s: background write failed (%s); it will be retried, "
                      "appends go on", self.path, self.error)
        self._failing += 1

    def _succeeded(self, what: str) -> None:
        if self._failing:
            log.warning("ledger %s: background writes work again (%s) after %d failures",
                        self.path, what, self._failing)
            self._failing = 0
            self.error = None
