"""The engine and the naive model driven together by a test: each command goes to both, their
events must be equal, and the engine's are returned (with `check()` after every command).

Used by the worked examples of the auction and stop rules, so every example checks the model
as well as the engine."""

from __future__ import annotations

from typing import Any

from exchange.engine.commands import AddAccount
from exchange.engine.engine import Engine
from tests.engine.helpers import ACCOUNTS, instrument
from tests.engine.model import Model, normalized


class Twin:
    def __init__(self, **terms: Any) -> None:
        """A venue with the default instrument (its spec overridden by `terms`) and the
        helpers' ACCOUNTS, in the engine and in the model."""
        self.engine, self.model = Engine(), Model()
        self.apply(instrument(**terms))
        for account, firm in ACCOUNTS:
            self.apply(AddAccount(0, account, firm))

    def apply(self, command: Any) -> list[Any]:
        got = self.engine.apply(command)
        want = self.model.apply(command)
        assert normalized(got) == normalized(want), (command, got, want)
        self.engine.check()
        return got

    def run(self, *commands: Any) -> list[Any]:
        """Apply each; the events of the last."""
        events: list[Any] = []
        for command in commands:
            events = self.apply(command)
        return events
