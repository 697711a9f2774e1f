"""Fingerprints of the engine's output on fixed workloads: the SHA-256 of every encoded event,
the digest at the end, and whether a snapshot taken there loads back to the same state.

    python -m bench.golden            # prints them as JSON

tests/engine/test_golden.py holds the figures the pure-Python engine gave (b0fe607, before the
compiled core) and checks that today's engine gives the same bytes: same commands, same events,
same digest. (Snapshots changed format since, 5 -> 6, so their bytes are not compared; their
round trip is.) Run this against an old checkout (PYTHONPATH=<checkout>) to record them again.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

from bench.engine_bench import setup_commands, to_command
from bench.workloads import generate
from exchange.engine import Engine, OrderAccepted, codec, snapshot

# name -> (mix or determinism seed, ops)
WORKLOADS: dict[str, tuple[str | int, int]] = {
    "normal": ("normal", 30_000),
    "cancel_heavy": ("cancel_heavy", 30_000),
    "deep_sweep": ("deep_sweep", 30_000),
    "mixed-2025": (2025, 20_000),
    "mixed-7": (7, 20_000),
}


def _bench_mix(mix: str, n: int) -> tuple[Engine, list[bytes]]:
    engine = Engine()
    encoded = [codec.encode(e) for c in setup_commands() for e in engine.apply(c)]
    ids: dict[int, tuple[int, str]] = {}
    for ts_us, op in enumerate(generate(mix, n, 0), start=1):
        events = engine.apply(to_command(op, ts_us, ids))
        if type(events[0]) is OrderAccepted:
            ids[op[1]] = (events[0].order_id, events[0].account)
        encoded.extend(codec.encode(event) for event in events)
    return engine, encoded


def _mixed(seed: int, n: int) -> tuple[Engine, list[bytes]]:
    from tests.engine.helpers import instrument, venue
    from tests.engine.test_determinism import workload

    engine = venue(instrument("WIRE"))
    encoded = [codec.encode(event) for command in workload(seed, n)
               for event in engine.apply(command)]
    return engine, encoded


def fingerprint(name: str) -> dict[str, Any]:
    source, n = WORKLOADS[name]
    engine, encoded = (_bench_mix(source, n) if isinstance(source, str)
                       else _mixed(source, n))
    data = snapshot.dump(engine)
    restored = snapshot.load(data)
    return {"events": len(encoded), "events_sha256": hashlib.sha256(b"".join(encoded)).hexdigest(),
            "digest": engine.digest(),
            "snapshot_round_trip": restored.digest() == engine.digest()
            and snapshot.dump(restored) == data}


def main() -> int:
    print(json.dumps({name: fingerprint(name) for name in WORKLOADS}, indent=4))
    return 0


if __name__ == "__main__":
    sys.exit(main())
