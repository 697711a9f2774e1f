"""The codec, old and new side by side: the Python codec (msgpack-python, `codec.encode_python`
/ `decode_python`) against the compiled fast path (`codec.encode` / `decode`, recordpack.pyx).

Workload (fixed seed): a mixed stream of commands and events, as the ledger holds them: the
three engine_bench mixes run through the engine (every command and every event it gave),
operator commands with their events and rejects, a 1,000-row ImportInstruments, and one record
of every command and event type. Each round times encode of the whole stream, then decode of
it, for each codec in turn (alternated, CPU time); the median of the rounds is reported with
the ratio. It verifies first that both give the same bytes for every record, and that
decode(encode(x)) == x with the same types.

    python -m bench.codec_bench [--ops 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import typing
from collections.abc import Callable
from enum import IntEnum
from typing import Any

from bench.engine_bench import setup_commands, to_command
from bench.workloads import MIXES, generate
from exchange.engine import Engine, OrderAccepted, codec
from exchange.engine import commands as c
from exchange.engine.commands import COMMAND_TYPES
from exchange.engine.enums import Side, TradingState
from exchange.engine.events import EVENT_TYPES

SYMBOL = "WHEAT"


def _bench_mix(mix: str, ops: int) -> list[Any]:
    engine, records = Engine(), []
    for command in setup_commands():
        records += [command, *engine.apply(command)]
    ids: dict[int, tuple[int, str]] = {}
    for ts_us, op in enumerate(generate(mix, ops, 0), start=1):
        command = to_command(op, ts_us, ids)
        events = engine.apply(command)
        if type(events[0]) is OrderAccepted:
            ids[op[1]] = (events[0].order_id, events[0].account)
        records += [command, *events]
    return records


def import_rows(count: int) -> list[list[Any]]:
    return [[f"IMP-{n:06d}", "wheat", "No.2", f"depot {n % 25}", "2027-03", "t", 20, 25, 2, 1,
             1000, 21000 + 25 * (n % 40), 100, TradingState.OPEN, None, None]
            for n in range(count)]


def operator_records() -> list[Any]:
    """Operator commands (good and bad, so rejects too) and the events the engine gives."""
    engine, records = Engine(), []
    commands = [
        c.AddInstrument(1, "PIPE", "steel pipe", "114x6", "CTA", "2027-03", "t", 1, 5, 2, 1,
                        10_000, 500_000, 40, TradingState.OPEN),
        c.AddInstrument(2, "PIPE", "dup", "x", "y", "z", "t", 1, 5, 2),  # duplicate: reject
        c.AddAccount(3, "A1", "F1", 100, 10**12, 50), c.AddAccount(4, "A2", "F2"),
        c.SetAccountLimits(5, "A1", None, 10**15, None), c.SetCreditLimit(6, "F1", 10**16),
        c.SetPriceBand(7, "PIPE", 500_100, 30), c.SetPriceBand(8, "NOPE", 1, 1),
        c.SetTradingState(9, "PIPE", TradingState.HALTED),
        c.SetTradingState(10, "PIPE", TradingState.OPEN),
        c.SubmitOrder(11, "A1", "b1", "PIPE", Side.BUY, 5, 500_000),
        c.SubmitOrder(12, "A2", "s1", "PIPE", Side.SELL, 3, 500_000),
        c.BustTrade(13, 1, "fat finger"), c.BustTrade(14, 99, "no such trade"),
        c.SetKillSwitch(15, "firm", "F1", True), c.SetKillSwitch(16, "account", "A1", False),
        c.StartTradingDay(17), c.ImportInstruments(18, import_rows(1000)),
        c.ImportInstruments(19, [["bad"]]),
        c.IssueKey(20, "k1", "trader", "A1", "ab" * 8, "cd" * 32), c.RevokeKey(21, "k1"),
        c.RevokeKey(22, "k1"), c.MassCancel(23, "A2"), c.ExpireOrders(24),
    ]
    for command in commands:
        records += [command, *engine.apply(command)]
    return records


def _sample_value(hint: Any) -> Any:
    if typing.get_origin(hint) is list:
        return [[-7, "row", None, 2**40]]
    kind = next(option for option in (typing.get_args(hint) or (hint,))
                if option is not type(None))
    if isinstance(kind, type) and issubclass(kind, IntEnum):
        return list(kind)[-1]
    return {int: -(2**40), str: "texte é ✓", bool: True}[kind]


def one_of_each() -> list[Any]:
    return [cls(*(_sample_value(hint) for hint in typing.get_type_hints(cls).values()))
            for cls in COMMAND_TYPES + EVENT_TYPES]


def mixed_stream(ops: int) -> list[Any]:
    """The workload above; `ops` engine_bench ops per mix."""
    records = [record for mix in MIXES for record in _bench_mix(mix, ops)]
    return records + operator_records() + one_of_each()


def verify(records: list[Any]) -> list[bytes]:
    """Same bytes from both codecs; both decode to the record, field types included."""
    encoded = []
    for record in records:
        data = codec.encode(record)
        assert data == codec.encode_python(record), record
        for decoded in (codec.decode(data), codec.decode_python(data)):
            assert decoded == record and type(decoded) is type(record), record
            assert [type(v) for v in decoded] == [type(v) for v in record] or (
                type(record) is c.ImportInstruments), record  # rows' enums come back as ints
        encoded.append(data)
    return encoded


def _timed(step: Callable[[Any], object], items: list[Any]) -> float:
    """CPU seconds for step over items, results dropped as they come (a ledger streams)."""
    started = time.process_time()
    for item in items:
        step(item)
    return time.process_time() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    records = mixed_stream(args.ops)
    encoded = verify(records)
    size = sum(map(len, encoded))
    print(f"{len(records):,} records ({size / 1e6:.1f} MB), {len(set(map(type, records)))} "
          f"types; verified: identical bytes, round trips; {os.cpu_count()} cores, load "
          f"average {os.getloadavg()[0]:.2f}")
    codecs = {"python (msgpack-python)": (codec.encode_python, codec.decode_python),
              "compiled (recordpack)": (codec.encode, codec.decode)}
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for name, (encode, decode) in codecs.items():
            times.setdefault((name, "encode"), []).append(_timed(encode, records))
            times.setdefault((name, "decode"), []).append(_timed(decode, encoded))
    print(f"\n{'median of ' + str(args.rounds) + ' rounds, CPU':34} {'encode':>16} "
          f"{'decode':>16}")
    medians = {key: statistics.median(value) for key, value in times.items()}
    for name in codecs:
        cells = [f"{medians[name, step] / len(records) * 1e9:6.0f} ns "
                 f"{len(records) / medians[name, step] / 1e6:5.2f} M/s" for step in
                 ("encode", "decode")]
        print(f"  {name:32} {cells[0]:>16} {cells[1]:>16}")
    old, new = codecs
    print(f"  {'ratio compiled / python':32} "
          f"{medians[old, 'encode'] / medians[new, 'encode']:15.2f}x "
          f"{medians[old, 'decode'] / medians[new, 'decode']:15.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
