"""What the ledger records: an entry is one command and the events it caused; a batch is the
entries of one durable write, with the engine digest after them."""

from __future__ import annotations

from typing import NamedTuple

from exchange.engine.commands import Command
from exchange.engine.events import Event


class Entry(NamedTuple):
    """One command and what it caused."""

    seq: int  # the command's seq (Engine.last_command_seq right after apply)
    command: Command
    events: list[Event]
    origin: str = ""  # who sent it: "account:ACC", "operator:NAME" or "system"


class Batch(NamedTuple):
    entries: list[Entry]
    digest: str  # Engine.digest() after the last entry
