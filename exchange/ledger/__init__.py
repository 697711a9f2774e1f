"""The ledger: a durable, append-only, hash-chained record of every command and event.

`Ledger` writes it (asyncio, group commit, snapshots, recovery); `reader` and `audit` read it
offline; `schema` knows the file layout and the hash chain; `replay` re-derives events and
checks them. DESIGN rules 3 and 4: the ledger alone determines the venue's state, and nothing a
client was told is missing after a crash.
"""

from exchange.ledger.reader import recover as recover_file
from exchange.ledger.records import Batch, Entry
from exchange.ledger.schema import GENESIS, SCHEMA_VERSION, LedgerError
from exchange.ledger.store import Ledger

__all__ = ["GENESIS", "SCHEMA_VERSION", "Batch", "Entry", "Ledger", "LedgerError",
           "recover_file"]
