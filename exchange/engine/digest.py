"""An incremental digest of the engine's state.

The state is split into parts (one per price level; instruments and accounts grouped into
buckets by the CRC32 of their name, so that listing 150,000 instruments hashes 1,024 parts, not
150,000), each with a canonical tuple. The digest is SHA-256 over a header and the sum, modulo
2**256, of every part's own SHA-256: the sum does not depend on order, so a part that changes is rehashed alone and the
cost of `value()` is the size of what changed since the last call, not of the whole state. Equal
states give equal digests, on any machine (MessagePack of ints and strings is platform-free).
"""

from __future__ import annotations

import hashlib
import zlib
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
    __slots__ = ("_buckets", "_dirty", "_parts", "_sum")

    def __init__(self) -> None:
        self._parts: dict[tuple, int] = {}
        self._sum = 0
        self._dirty: dict[tuple, Part | None] = {}
        self._buckets: dict[tuple[str, int], Bucket] = {}

    def mark(self, key: tuple, part: Part | None) -> None:
        """Note that the part at `key` changed (None: it no longer exists). O(1)."""
        self._dirty[key] = part

    def mark_member(self, kind: str, name: str, part: Part) -> None:
        """Note that the named part of this kind (an instrument, an account) changed. O(1)."""
        key = (kind, zlib.crc32(name.encode()) % BUCKETS)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket()
        bucket.members[name] = part
        self._dirty[key] = bucket

    def value(self, header: tuple) -> str:
        """The digest (hex) of the header and every part. O(size of the parts marked since)."""
        for key, part in self._dirty.items():
            self._sum -= self._parts.pop(key, 0)
            if part is not None:
                canonical = _pack((key, part.canonical()))
                self._parts[key] = own = int.from_bytes(hashlib.sha256(canonical).digest(), "big")
                self._sum += own
        self._dirty.clear()
        self._sum %= _MODULUS
        return hashlib.sha256(msgpack.packb((header, self._sum.to_bytes(32, "big")))).hexdigest()
