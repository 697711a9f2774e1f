"""The PostgreSQL ledger's layout: the SQLite ledger's, with a shard column, one chain per shard.

`events` holds one row per output of a shard, keyed by `(shard, out_seq)`: `out_seq` is the
output's (and its input's) sequence in OUT_<shard>/IN_<shard>, `body` the output's body (the
command's codec record, then its events': `schema.entry_body`), `seq` the engine sequence of
the command (derived from the body, not hashed), `digest` the engine digest after it. An input
that was not a command has `kind` 0 and an empty body. `trades` has one row per trade event,
keyed by `(shard, out_seq, idx)` (`idx`: the event's place in the body) and unique by
`(shard, trade_id)`. `batches` chains each shard's rows with the SQLite ledger's batch records
(schema.seal): a batch's `hash` covers `[id, first_seq, last_seq, prev_hash, events_hash,
digest]` with `events_hash` over its rows `[out_seq, ts_us, kind, origin, body]` in order,
`prev_hash` is the shard's previous batch's hash (this module's `GENESIS` first), and
`signature` is the venue key's (signing.py). Triggers refuse UPDATE and DELETE on all three. Keys make every
write idempotent: a batch written twice fails whole, on its first row.
"""

from __future__ import annotations

import hashlib

from exchange.ledger.schema import BatchRecord

SCHEMA_VERSION = "cluster-1"
# The chain's own start, so that a change of the SQLite ledger's schema never moves it.
GENESIS = hashlib.sha256(b"exchange cluster ledger genesis, cluster-1").hexdigest()
LOCK = 0x65786368  # advisory lock id taken while creating the tables ("exch")

TABLES = """
CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    shard text NOT NULL,
    out_seq bigint NOT NULL,
    seq bigint,
    ts_us bigint NOT NULL,
    kind integer NOT NULL,
    origin text,
    body bytea NOT NULL,
    digest text NOT NULL,
    PRIMARY KEY (shard, out_seq)
);
CREATE TABLE IF NOT EXISTS batches (
    shard text NOT NULL,
    id bigint NOT NULL,
    first_seq bigint NOT NULL,
    last_seq bigint NOT NULL,
    prev_hash text NOT NULL,
    events_hash text NOT NULL,
    digest text NOT NULL,
    hash text NOT NULL,
    signature text NOT NULL,
    PRIMARY KEY (shard, id),
    UNIQUE (shard, first_seq)
);
CREATE TABLE IF NOT EXISTS trades (
    shard text NOT NULL,
    out_seq bigint NOT NULL,
    idx integer NOT NULL,
    trade_id bigint NOT NULL,
    seq bigint NOT NULL,
    ts_us bigint NOT NULL,
    symbol text NOT NULL,
    price bigint NOT NULL,
    qty bigint NOT NULL,
    aggressor_side text NOT NULL,
    buyer_account text NOT NULL,
    seller_account text NOT NULL,
    maker_order_id bigint NOT NULL,
    taker_order_id bigint NOT NULL,
    PRIMARY KEY (shard, out_seq, idx),
    UNIQUE (shard, trade_id)
);
CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'ledger % are append-only', TG_TABLE_NAME; END $$ LANGUAGE plpgsql;
CREATE OR REPLACE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE OR REPLACE TRIGGER batches_append_only BEFORE UPDATE OR DELETE ON batches
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE OR REPLACE TRIGGER trades_append_only BEFORE UPDATE OR DELETE ON trades
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
"""

# What the first batch of a shard follows: chain_fault(first, START) checks it links to GENESIS.
START = BatchRecord(0, 0, 0, "", "", "", GENESIS, "")

EVENT_COLUMNS = ("shard", "out_seq", "seq", "ts_us", "kind", "origin", "body", "digest")
TRADE_COLUMNS = ("shard", "out_seq", "idx", "trade_id", "seq", "ts_us", "symbol", "price", "qty",
                 "aggressor_side", "buyer_account", "seller_account", "maker_order_id",
                 "taker_order_id")
INSERT_BATCH = ("INSERT INTO batches (shard, id, first_seq, last_seq, prev_hash, events_hash, "
                "digest, hash, signature) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
SELECT_HEAD = ("SELECT id, first_seq, last_seq, prev_hash, events_hash, digest, hash, signature "
               "FROM batches WHERE shard = $1 ORDER BY id DESC LIMIT 1")
SELECT_BATCHES = ("SELECT id, first_seq, last_seq, prev_hash, events_hash, digest, hash, "
                  "signature FROM batches WHERE shard = $1 ORDER BY id")
SELECT_ROWS = ("SELECT out_seq, ts_us, kind, origin, body, digest FROM events "
               "WHERE shard = $1 AND out_seq BETWEEN $2 AND $3 ORDER BY out_seq")
