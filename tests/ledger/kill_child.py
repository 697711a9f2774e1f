"""A writer to be killed: `python -m tests.ledger.kill_child LEDGER SEED`.

Opens and recovers the ledger, prints "ready", then appends seeded batches for ever, printing
each batch's last seq once `append` has returned (acknowledged: durable). The parent kills it
with SIGKILL at a random moment and checks that every acknowledged seq survived.
"""

from __future__ import annotations

import asyncio
import random
import sys

from exchange import demo
from exchange.ledger import Batch, Ledger
from tests.ledger.history import entries, next_command


async def main(path: str, seed: int) -> None:
    rng = random.Random(seed)
    ledger = await Ledger.open(path, snapshot_every=3_000)
    engine = await ledger.recover()
    print("ready", engine.seq, flush=True)
    if engine.seq == 0:
        setup = entries(demo.setup(), engine)
        await ledger.append(Batch(setup, engine.digest()))
        print(ledger.last_seq, flush=True)
    count = 0
    while True:
        batch = []
        for _ in range(rng.randint(1, 40)):
            command = next_command(rng, engine, engine.now_us + rng.randint(0, 2_000),
                                   f"{seed}-{count}")
            batch.extend(entries([command], engine))
            count += 1
        await ledger.append(Batch(batch, engine.digest()))
        print(ledger.last_seq, flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
