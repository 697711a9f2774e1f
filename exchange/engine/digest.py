"""An incremental digest of the engine's state.

The state is split into parts, each with a canonical tuple: one per resting order (keyed by its
order id; its time priority is a number it carries, so an order's part does not change when
others leave its level), and buckets of instruments, of accounts and of API keys by the CRC32 of
their name (so that listing 150,000 instruments hashes 1,024 parts, not 150,000). The digest is
SHA-256 over a header and the sum, modulo 2**256, of every part's own SHA-256: the sum does not
depend on order, so a part that changes is rehashed alone and the cost of `value()` is the size
of what changed since the last call, not of the whole state. Equal
states give equal digests, on any machine (MessagePack of ints and strings is platform-free).
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable
from typing import Protocol

import msgpack

_MODULUS = 2**256
_pack = msgpack.Packer(autoreset=True).pack


class Part(Protocol):
    def canonical(self) -> tuple: ...


BUCKETS = 1024


class Bucket:
    """Named parts hashed together, in name order."""

    __slots__ = ("members",)

    def __init__(self) -> None:
        self.members: dict[str, Part] = {}

    def canonical(self) -> tuple:
        return tuple((name, self.members[name].canonical()) for name in sorted(self.members))


class StateDigest:
    __slots__ = ("_buckets", "_parts", "_sum", "changed")

    def __init__(self) -> None:
        self._parts: dict[object, int] = {}
        self._sum = 0
        # key -> the part now (None: gone), since the last value(); hot paths write it directly
        self.changed: dict[object, Part | None] = {}
        self._buckets: dict[tuple[str, int], Bucket] = {}

    def mark_member(self, kind: str, name: str, part: Part) -> None:
        """Note that the named part of this kind (an instrument, an account) changed. O(1)."""
        key = (kind, zlib.crc32(name.encode()) % BUCKETS)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket()
        bucket.members[name] = part
        self.changed[key] = bucket

    def add_parts(self, parts: Iterable[tuple[object, tuple]]) -> None:
        """Hash new parts given as (key, canonical tuple) now, in one pass (a snapshot load:
        a million resting orders at once). Equal to marking each and calling `value()`."""
        own_parts, pack, sha256, from_bytes = self._parts, _pack, hashlib.sha256, int.from_bytes
        total = 0
        for key, canonical in parts:
            own_parts[key] = own = from_bytes(sha256(pack((key, canonical))).digest(), "big")
            total += own
        self._sum = (self._sum + total) % _MODULUS

    def value(self, header: tuple, order_parts: int = 0) -> str:
        """The digest (hex) of the header, every part, and `order_parts`: the sum of the
        resting orders' parts, which the compiled core keeps (each order's part is the SHA-256
        of the MessagePack of (order_id, its canonical tuple), as for any part here; summed in
        C, in `Core.order_parts`). O(size of the parts marked since)."""
        for key, part in self.changed.items():
            self._sum -= self._parts.pop(key, 0)
            if part is not None:
                canonical = _pack((key, part.canonical()))
                self._parts[key] = own = int.from_bytes(hashlib.sha256(canonical).digest(), "big")
                self._sum += own
        self.changed.clear()
        self._sum %= _MODULUS
        total = (self._sum + order_parts) % _MODULUS
        return hashlib.sha256(msgpack.packb((header, total.to_bytes(32, "big")))).hexdigest()
