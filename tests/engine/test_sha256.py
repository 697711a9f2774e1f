"""The engine's own SHA-256 (exchange/engine/c/sha256.h, which hashes every resting order's
digest part) equals hashlib's, by both of its compressions: the portable one and, where the
CPU has the SHA extensions, the SHA-NI one."""

from __future__ import annotations

import hashlib
import random

import pytest
from exchange.engine.order import sha256_value

# every padding case: empty, under one block, 55/56/63/64 (the length's own block), many blocks
LENGTHS = [*range(130), 191, 192, 255, 256, 1000, 4096 + 17]


@pytest.mark.parametrize("portable", [False, True])
def test_sha256_equals_hashlib_at_every_padding_length(portable: bool) -> None:
    rng = random.Random(10)
    for length in LENGTHS:
        data = rng.randbytes(length)
        value, _ = sha256_value(data, portable)
        assert value == int.from_bytes(hashlib.sha256(data).digest(), "big"), length


def test_the_portable_flag_forces_the_portable_compression() -> None:
    assert sha256_value(b"abc", True)[1] is False
