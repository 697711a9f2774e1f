"""The compiled engine gives, byte for byte, what the pure-Python engine gave (b0fe607, before
the compiled core): the same encoded events and the same digest on the bench workloads and the
determinism workloads, and a snapshot there loads back to the same state (bench/golden.py computes them; recorded with
`PYTHONPATH=<checkout of b0fe607> python -m bench.golden`)."""

from __future__ import annotations

import pytest

from bench.golden import WORKLOADS, fingerprint

RECORDED = {
    "normal": {
        "events": 67202,
        "events_sha256": "bd581c1d8df4a9cb26639b9d795a463a7a3eb0c524889779b7dd86be228bc95e",
        "digest": "1a7372829b156373b4ac86cf4ed69f15b6a027722e3d3e29a551757e90137291",
        "snapshot_round_trip": True,
    },
    "cancel_heavy": {
        "events": 55216,
        "events_sha256": "6590a63b3f789a5731294c2d9a04fd569b68129ef06d5461e64cc5257b3a98fd",
        "digest": "dd9b5ac314d3960bfbf05698164a6cad620806c0aa369699ea2991fbc3d1cde7",
        "snapshot_round_trip": True,
    },
    "deep_sweep": {
        "events": 70703,
        "events_sha256": "19a5fd5d79549dfb365070866606695027f18cab46564a1ee0dd20c8c0dca0b9",
        "digest": "3d9c6b071df07bbb4ef0d131d6e20fe9179c84285427e63a7ef8c20793cc1f78",
        "snapshot_round_trip": True,
    },
    "mixed-2025": {
        "events": 26762,
        "events_sha256": "014c877827dad5fe2a423c357a8adf06f54107b9a7e2a868be927ed578b54032",
        "digest": "27d12364c679f0134f7c7a239c859027eb53d6b8d376909057b535d5624d744c",
        "snapshot_round_trip": True,
    },
    "mixed-7": {
        "events": 26565,
        "events_sha256": "ead9cdc4f7fc5e3e364ba1b5e0b02d6fae058a7c20a4b060a62071d4b178fe44",
        "digest": "7261744c74a3b898f17bbdd86e865c1df5f48becf0a006ab7f42fa44af3bdfbe",
        "snapshot_round_trip": True,
    },
}


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_events_and_digest_equal_the_pure_engines(name: str) -> None:
    assert fingerprint(name) == RECORDED[name]
