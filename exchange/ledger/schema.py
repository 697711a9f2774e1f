"""The ledger file's layout and its hash chain: the one module that knows both.

The async `Ledger` (store.py), the synchronous writes (writes.py) and the auditor tools
(audit.py) share everything here, so a file written by one is read by the others under the
same rules.

Layout (schema 4). Each command is recorded together with its outcome as an *entry*: its
`seq` is the command's, and its body is the MessagePack array of the command's codec record
followed by the records of the events it caused, so record `i` of the body is at seq `seq + i`
and the next entry starts at `seq + len(body records)`. An entry's `ts_us` and `kind` are the
command's (`ts_us`: its time, or its first event's when the command's own time is malformed),
`origin` says who sent it. `batches` holds one row per transaction: batch `n` covers seqs
`first_seq..last_seq` (whole entries), follows batch `n-1` without a gap, and carries its
entries as two blobs: `body`, the entries' bodies one after another, and `entries`, the index,
the MessagePack array of `[seq, ts_us, kind, origin, end]` per entry (`end`: where its body ends
in `body`), so one entry is found by seq without decoding the others. It also carries
`prev_hash` (the previous batch's `hash`, `GENESIS` for the first), `events_hash` (over its two
blobs), the engine `digest` after it, its own `hash`, and the venue key's `signature` of that
hash (signing.py; the public key is `meta.public_key`). Triggers refuse UPDATE and DELETE, so
history is append-only. (Schema 3 had one SQLite row per entry; one blob per batch appends ~1.4x
faster at 1024 commands per batch: bench/README.md.) `snapshots` (the engine's state at a
batch's end, and the edge's own state at the same seq in `edge`, if the writer gave one) may be
replaced, but each is signed too: its `hash` covers its seq, digest, format, the SHA-256 of
`body` and of `edge`, and the hash of the batch it ends, and `signature` signs it. The
projections (`accounts`, `trades`, `orders`, and the `projected` mark) are derived data and may
be rewritten.

Hashing (all SHA-256, hex). `events_hash` hashes the index's length as 8 bytes (big-endian),
the index, then the body; a batch's `hash` hashes the MessagePack array
`[id, first_seq, last_seq, prev_hash, events_hash, digest]`; a snapshot's `hash` hashes
`[seq, digest, format, body_hash, edge_hash, batch_hash]` (`edge_hash` None without edge
state). MessagePack of ints, strings, None and bytes is the same on every machine, so anyone
can recompute the chain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import msgpack

from exchange.engine import codec
from exchange.engine.codec import CodecError
from exchange.engine.commands import COMMAND_TYPES
from exchange.engine.snapshot import FORMAT as ENGINE_FORMAT

SCHEMA_VERSION = 4
GENESIS = hashlib.sha256(b"exchange ledger genesis, schema 4").hexdigest()
COMMAND_KINDS = frozenset(codec.KIND_OF[cls] for cls in COMMAND_TYPES)
_packer = msgpack.Packer(autoreset=True)

Row = tuple[int, int, int, "str | None", bytes]
"""One entry as recorded: (seq, ts_us, kind, origin, body)."""

TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE batches (
    id INTEGER PRIMARY KEY,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    prev_hash TEXT NOT NULL,
    events_hash TEXT NOT NULL,
    digest TEXT NOT NULL,
    hash TEXT NOT NULL,
    signature TEXT NOT NULL,
    entries BLOB NOT NULL,
    body BLOB NOT NULL
);
CREATE UNIQUE INDEX batches_last_seq ON batches (last_seq);
CREATE TABLE snapshots (
    seq INTEGER PRIMARY KEY,
    digest TEXT NOT NULL,
    format INTEGER NOT NULL,
    body BLOB NOT NULL,
    edge BLOB,
    body_hash TEXT NOT NULL,
    edge_hash TEXT,
    hash TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE TRIGGER batches_no_update BEFORE UPDATE ON batches
    BEGIN SELECT RAISE(ABORT, 'ledger batches are append-only'); END;
CREATE TRIGGER batches_no_delete BEFORE DELETE ON batches
    BEGIN SELECT RAISE(ABORT, 'ledger batches are append-only'); END;
"""

PROJECTION_TABLES = """
CREATE TABLE IF NOT EXISTS accounts (account TEXT PRIMARY KEY, firm TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trades (
    trade_id INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    ts_us INTEGER NOT NULL,
    symbol TEXT NOT NULL,
    price INTEGER NOT NULL,
    qty INTEGER NOT NULL,
    aggressor_side TEXT NOT NULL,
    buyer_account TEXT NOT NULL,
    buyer_firm TEXT,
    seller_account TEXT NOT NULL,
    seller_firm TEXT,
    maker_order_id INTEGER NOT NULL,
    taker_order_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    order_id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    cl_ord_id TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    ord_type TEXT NOT NULL,
    tif TEXT NOT NULL,
    price INTEGER,
    qty INTEGER NOT NULL,
    cum_qty INTEGER NOT NULL,
    leaves_qty INTEGER NOT NULL,
    status TEXT NOT NULL,
    accepted_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS projected (name TEXT PRIMARY KEY, seq INTEGER NOT NULL);
INSERT OR IGNORE INTO projected VALUES ('projections', 0);
CREATE INDEX IF NOT EXISTS trades_symbol ON trades (symbol, seq);
CREATE INDEX IF NOT EXISTS orders_account ON orders (account, status);
"""
PROJECTIONS = ("accounts", "trades", "orders")  # and `projected`, their marks

SYNCHRONOUS = "PRAGMA synchronous=FULL"
PRAGMAS = ("PRAGMA journal_mode=WAL", SYNCHRONOUS)

INSERT_BATCH = ("INSERT INTO batches (id, first_seq, last_seq, prev_hash, events_hash, digest, "
                "hash, signature, entries, body) VALUES (?,?,?,?,?,?,?,?,?,?)")
INSERT_SNAPSHOT = ("INSERT OR REPLACE INTO snapshots (seq, digest, format, body, edge, body_hash, "
                   "edge_hash, hash, signature) VALUES (?,?,?,?,?,?,?,?,?)")
SELECT_BATCHES = ("SELECT id, first_seq, last_seq, prev_hash, events_hash, digest, hash, "
                  "signature FROM batches")
SELECT_BATCH_BLOBS = ("SELECT id, first_seq, last_seq, prev_hash, events_hash, digest, hash, "
                      "signature, entries, body FROM batches")
SELECT_SNAPSHOT_SEALS = ("SELECT seq, digest, format, body_hash, edge_hash, hash, signature "
                         "FROM snapshots")


class LedgerError(Exception):
    """A ledger file that cannot be used as asked: not a ledger, corrupt, or inconsistent.

    `seq` names the first sequence number at fault when there is one."""

    def __init__(self, message: str, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq


class BatchRecord(NamedTuple):
    id: int
    first_seq: int
    last_seq: int
    prev_hash: str
    events_hash: str
    digest: str
    hash: str
    signature: str  # the venue key's, of `hash` (signing.BATCH)


class SnapshotSeal(NamedTuple):
    """What a snapshot's signature covers, but for its bytes (whose hashes are here)."""

    seq: int
    digest: str
    format: int
    body_hash: str
    edge_hash: str | None
    hash: str
    signature: str  # the venue key's, of `hash` (signing.SNAPSHOT)


def meta_rows(public_key: str) -> list[tuple[str, str]]:
    return [("schema_version", str(SCHEMA_VERSION)), ("engine_format", str(ENGINE_FORMAT)),
            ("genesis", GENESIS), ("public_key", public_key)]


OLD_SCHEMAS = {
    "1": "one row per event, unsigned",
    "2": "unsigned batches",
    "3": "one row per command",
}


def check_meta(tables: Iterable[str], meta: dict[str, str], where: str) -> None:
    """Raise LedgerError unless the tables and meta rows are those of a ledger this code reads."""
    tables = set(tables)
    if not tables:
        raise LedgerError(f"{where}: empty database, not a ledger")
    if "meta" not in tables or "batches" not in tables:
        raise LedgerError(f"{where}: not a ledger (no meta/batches tables)")
    version = meta.get("schema_version")
    if version in OLD_SCHEMAS:
        raise LedgerError(
            f"{where}: ledger schema version {version} ({OLD_SCHEMAS[version]}), this program "
            f"reads {SCHEMA_VERSION} and does not migrate: check it with the release that "
            "wrote it, start a new ledger")
    if version != str(SCHEMA_VERSION):
        raise LedgerError(
            f"{where}: ledger schema version {version}, this program reads {SCHEMA_VERSION}")
    if "public_key" not in meta:
        raise LedgerError(f"{where}: the ledger's meta names no public key")


def entry_body(command: Any, events: Sequence[Any]) -> bytes:
    """The body of an entry: the MessagePack array of the command's codec record, then its
    events' records in seq order, each exactly `codec.encode`'s bytes (the array header, then
    the records joined: the compiled codec encodes each, ~1.5x faster than one msgpack pack of
    them all). O(fields)."""
    count = len(events) + 1
    head = _SMALL_HEADERS[count] if count < 16 else _packer.pack_array_header(count)
    encode = codec.encode
    return head + encode(command) + b"".join(map(encode, events))


_SMALL_HEADERS = tuple(bytes((0x90 + n,)) for n in range(16))  # fixarray headers


def body_records(body: bytes) -> list[bytes]:
    """The records of a row's body, each as the bytes `codec.decode` takes; record `i` is at
    the row's seq + i. CodecError if the body is not an array of records. O(bytes)."""
    unpacker = _unpacker(body)
    count = _array_length(unpacker)
    start = unpacker.tell()
    found = []
    try:
        for _ in range(count):
            unpacker.skip()
            end = unpacker.tell()
            found.append(body[start:end])
            start = end
    except (msgpack.UnpackException, ValueError):
        raise CodecError("the body ends inside a record") from None
    if start != len(body):
        raise CodecError("bytes after the body's last record")
    return found


def command_record(body: bytes) -> bytes:
    """The first record of a row's body (its command), reading no further. CodecError if the
    body does not start with an array holding a record. O(bytes of the command)."""
    unpacker = _unpacker(body)
    _array_length(unpacker)
    start = unpacker.tell()
    try:
        unpacker.skip()
    except (msgpack.UnpackException, ValueError):
        raise CodecError("the body ends inside its command record") from None
    return body[start:unpacker.tell()]


def record_count(body: bytes) -> int:
    """How many records (so seqs) a row's body holds, from its array header alone (no record
    is parsed; the unpacker copies the body)."""
    return _array_length(_unpacker(body))


def _unpacker(body: bytes) -> msgpack.Unpacker:
    unpacker = msgpack.Unpacker()
    unpacker.feed(body)
    return unpacker


def _array_length(unpacker: msgpack.Unpacker) -> int:
    try:
        length = unpacker.read_array_header()
    except (msgpack.UnpackException, ValueError):
        raise CodecError("the body is not an array of records") from None
    if length < 1:
        raise CodecError("the body holds no command record")
    return int(length)


def events_hash(rows: Sequence[Row]) -> str:
    """SHA-256 of the MessagePack array of rows in seq order (the row-per-entry hash that
    schema 3 used and the cluster's PostgreSQL ledger uses). O(bytes)."""
    return hashlib.sha256(msgpack.packb(rows)).hexdigest()


def blob_hash(index: bytes, body: bytes) -> str:
    """SHA-256 of a batch's two blobs, its `events_hash` (see the module docstring). O(bytes)."""
    digest = hashlib.sha256(len(index).to_bytes(8, "big"))
    digest.update(index)
    digest.update(body)
    return digest.hexdigest()


def pack_batch(rows: Sequence[Row]) -> tuple[bytes, bytes]:
    """A batch's (index, body) blobs for its entries' rows, in seq order. O(bytes)."""
    index: list[tuple[int, int, int, str | None, int]] = []
    add = index.append
    end = 0
    for seq, ts_us, kind, origin, body in rows:
        end += len(body)
        add((seq, ts_us, kind, origin, end))
    return msgpack.packb(index), b"".join(row[4] for row in rows)


def unpack_batch(index: bytes, body: bytes, first_seq: int) -> list[Row]:
    """The rows of a batch's blobs. LedgerError naming `first_seq` (the batch's) if the index
    is not an array of `[seq, ts_us, kind, origin, end]` tiling `body`. O(entries) + one copy
    of each body's bytes."""
    try:
        found = msgpack.unpackb(index, use_list=False)
    except (msgpack.UnpackException, ValueError, TypeError):
        found = None
    if type(found) is not tuple:
        raise LedgerError(f"seq {first_seq}: the batch's entry index does not decode", first_seq)
    rows: list[Row] = []
    add = rows.append
    start = 0
    try:
        for seq, ts_us, kind, origin, end in found:
            if (type(seq) is not int or type(ts_us) is not int or type(kind) is not int
                    or type(end) is not int or end < start
                    or not (origin is None or type(origin) is str)):
                raise ValueError(seq)
            add((seq, ts_us, kind, origin, body[start:end]))
            start = end
    except (ValueError, TypeError):
        raise LedgerError(f"seq {first_seq}: the batch's entry index is malformed at entry "
                          f"{len(rows) + 1}", first_seq) from None
    if start != len(body):
        raise LedgerError(f"seq {first_seq}: the batch's body does not end where its index "
                          "says", first_seq)
    return rows


def batch_hash(batch_id: int, first_seq: int, last_seq: int, prev_hash: str, rows_hash: str,
               digest: str) -> str:
    record = (batch_id, first_seq, last_seq, prev_hash, rows_hash, digest)
    return hashlib.sha256(msgpack.packb(record)).hexdigest()


def seal(batch_id: int, prev_hash: str, rows: Sequence[Row], last_seq: int,
         digest: str, sign: Callable[[str], str]) -> BatchRecord:
    """The batch record for `rows` (non-empty, contiguous, their last record at `last_seq`)
    following `prev_hash`, hashed by `events_hash`, signed by `sign` (VenueKey.sign_batch)."""
    return seal_hashed(batch_id, prev_hash, rows[0][0], last_seq, events_hash(rows), digest,
                       sign)


def seal_hashed(batch_id: int, prev_hash: str, first_seq: int, last_seq: int, rows_hash: str,
                digest: str, sign: Callable[[str], str]) -> BatchRecord:
    """The batch record for entries from `first_seq` to `last_seq` (non-empty, contiguous)
    whose bytes hash to `rows_hash`, following `prev_hash`, its hash signed by `sign`."""
    own = batch_hash(batch_id, first_seq, last_seq, prev_hash, rows_hash, digest)
    return BatchRecord(batch_id, first_seq, last_seq, prev_hash, rows_hash, digest, own,
                       sign(own))


def sha256_hex(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def snapshot_hash(seq: int, digest: str, engine_format: int, body_hash: str,
                  edge_hash: str | None, of_batch: str) -> str:
    """The hash a snapshot's signature signs: its fields, its bytes' hashes, and the hash of
    the batch it ends (so it belongs to one chain)."""
    record = (seq, digest, engine_format, body_hash, edge_hash, of_batch)
    return hashlib.sha256(msgpack.packb(record)).hexdigest()


def chain_fault(batch: BatchRecord, previous: BatchRecord | None) -> str | None:
    """What is wrong with `batch` as the successor of `previous` (None: first), or None.

    Checks linkage and the batch's own hash; `events_hash` is checked against the rows by the
    caller, which has them."""
    prev_hash = GENESIS if previous is None else previous.hash
    prev_id = 0 if previous is None else previous.id
    prev_last = 0 if previous is None else previous.last_seq
    if batch.id != prev_id + 1:
        return f"batch {batch.id} follows batch {prev_id}"
    if batch.first_seq != prev_last + 1 or batch.last_seq < batch.first_seq:
        return f"batch {batch.id} covers seqs {batch.first_seq}..{batch.last_seq}"
    if batch.prev_hash != prev_hash:
        return f"batch {batch.id} does not link to the previous batch's hash"
    own = batch_hash(batch.id, batch.first_seq, batch.last_seq, batch.prev_hash,
                     batch.events_hash, batch.digest)
    if own != batch.hash:
        return f"batch {batch.id}'s hash does not match its contents"
    return None


def record_ts(record: Any, fallback: int) -> int:
    """The ts_us column for a record: its own time if that is an int, else `fallback`
    (a command with a malformed time, which the engine rejected)."""
    ts = record.ts_us
    return ts if type(ts) is int else fallback
