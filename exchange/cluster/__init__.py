"""Scale-out: instrument-sharded engines on NATS JetStream, with a PostgreSQL ledger.

The same pure engine runs once per shard. Each shard's inputs are one JetStream stream,
`IN_<shard>`; its engine publishes exactly one output per input to `OUT_<shard>`, fenced to
the input's sequence number; a writer per shard copies OUT into PostgreSQL, hash-chained and
signed. docs/cluster.md has the shape, the fencing argument and what survives what.

Modules: `names` (streams, subjects, headers, the config), `replica` (pure: an input's output
bytes), `topology` (creating streams, the route map and the snapshot store), `shard` (the
engine process), `order_entry` (the gateways' client), `pg_schema` and `pg_ledger` (the
PostgreSQL ledger and its writer), `servers` (local nats-server and PostgreSQL for tests and
the demo).
"""
