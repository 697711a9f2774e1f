"""The compiled core hashes each resting order's digest part in C (its own MessagePack writer
and SHA-256): it must equal msgpack-python and hashlib on the same (order_id, canonical) tuple,
for every size of int and string an order may hold."""

from __future__ import annotations

import hashlib

import msgpack
from hypothesis import given
from hypothesis import strategies as st

from exchange.engine import AddInstrument, OrdType, Side, StpMode, SubmitOrder, TimeInForce
from exchange.engine.engine import Engine
from tests.engine.helpers import venue

INT64 = st.integers(-(2**63) + 1, 2**63 - 1)
EDGES = st.sampled_from([0, 1, -1, 31, 32, -32, -33, 127, 128, -128, -129, 255, 256, 32767,
                         32768, -32768, -32769, 65535, 65536, 2**31 - 1, 2**31, -(2**31),
                         -(2**31) - 1, 2**32 - 1, 2**32, 2**63 - 1, -(2**63) + 1])
TEXT = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "S")), min_size=1,
               max_size=64)


def python_part(order: object) -> int:
    packed = msgpack.packb((order.order_id, order.canonical()))  # type: ignore[attr-defined]
    return int.from_bytes(hashlib.sha256(packed).digest(), "big")


def resting(engine: Engine, **fields: object) -> object:
    order = next(iter(engine.orders.values()))
    for name, value in fields.items():
        setattr(order, name, value)
    return order


@given(order_id=INT64 | EDGES, qty=INT64 | EDGES, leaves=INT64 | EDGES, priority=INT64 | EDGES,
       price=INT64 | EDGES, account=TEXT, cl_ord_id=TEXT)
def test_the_c_part_equals_msgpack_and_hashlib(order_id: int, qty: int, leaves: int,
                                               priority: int, price: int, account: str,
                                               cl_ord_id: str) -> None:
    engine = venue(SubmitOrder(1, "a1", "x", "PIPE", Side.BUY, 5, 100))
    order = resting(engine, order_id=order_id, qty=qty, leaves=leaves, visible=leaves,
                    priority=priority, price=price, account=account, cl_ord_id=cl_ord_id)
    assert order.digest_part_value() == python_part(order)  # type: ignore[attr-defined]


def test_every_optional_field_and_flag() -> None:
    spec = AddInstrument(0, "GTD", "steel", "A", "Constanta", "2025-03", "t", 20, 1, 2, 1, 1000)
    engine = venue(spec, SubmitOrder(1, "a1", "ice-" * 16, "GTD", Side.SELL, 9, 100,
                                     OrdType.LIMIT, TimeInForce.GTD, 10**12, True, 3,
                                     StpMode.DECREMENT))
    order = next(iter(engine.orders.values()))
    assert order.display_qty == 3 and order.expire_at_us == 10**12  # type: ignore[attr-defined]
    assert order.digest_part_value() == python_part(order)  # type: ignore[attr-defined]
