"""An execution report built and encoded as a dict (today) vs as a msgspec Struct (issue 11's
"encode pushed messages from Structs"), same bytes: what converting the pushed messages would
save per report. Fixed values (a partial fill's report, 23 fields); best of 5 x 100,000.

    python -m bench.report_encode_bench
"""

from __future__ import annotations

import timeit

import msgspec

REPORT = {"ch": "exec", "type": "report", "exec_seq": 123456, "account": "AGRO-1",
          "order_id": "98765", "cl_ord_id": "j0-1234", "sym": "WHEAT-M2-CTA-2703",
          "side": "BUY", "exec_type": "TRADE", "ord_status": "PARTIALLY_FILLED",
          "ord_type": "LIMIT", "tif": "GTC", "px": "210.00", "qty": "10", "last_px": "209.75",
          "last_qty": "3", "cum_qty": "3", "leaves_qty": "7", "avg_px": "209.7500",
          "liquidity": "MAKER", "trade_id": "4567", "transact_time_us": 1764763200000000,
          "seq": 987654}
Report = msgspec.defstruct("Report", [(key, type(value)) for key, value in REPORT.items()])
VALUES = tuple(REPORT.values())
ENCODER = msgspec.json.Encoder()


def as_dict() -> bytes:  # a literal, as orders.py builds its reports
    (ch, kind, exec_seq, account, order_id, cl_ord_id, sym, side, exec_type, status, ord_type,
     tif, px, qty, last_px, last_qty, cum_qty, leaves_qty, avg_px, liquidity, trade_id, ts,
     seq) = VALUES
    return ENCODER.encode({
        "ch": ch, "type": kind, "exec_seq": exec_seq, "account": account, "order_id": order_id,
        "cl_ord_id": cl_ord_id, "sym": sym, "side": side, "exec_type": exec_type,
        "ord_status": status, "ord_type": ord_type, "tif": tif, "px": px, "qty": qty,
        "last_px": last_px, "last_qty": last_qty, "cum_qty": cum_qty, "leaves_qty": leaves_qty,
        "avg_px": avg_px, "liquidity": liquidity, "trade_id": trade_id,
        "transact_time_us": ts, "seq": seq})


def as_struct() -> bytes:
    return ENCODER.encode(Report(*VALUES))


def main() -> int:
    assert as_dict() == as_struct(), "the two must give the same bytes"
    best: dict[str, float] = {}
    for _round in range(2):  # alternated
        for build in (as_dict, as_struct):
            took = min(timeit.repeat(build, number=100_000, repeat=5)) / 100_000
            best[build.__name__] = min(took, best.get(build.__name__, took))
    for name, took in best.items():
        print(f"{name:10} {took * 1e6:6.2f} us per report (build + JSON encode)")
    print(f"struct / dict: {best['as_struct'] / best['as_dict']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
