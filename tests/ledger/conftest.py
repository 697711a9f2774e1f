"""Ledger tests: the `slow` marker runs only with EXCHANGE_SLOW_TESTS=1 (the 100k-command
determinism run; its 20k-command sibling runs by default)."""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: long ledger runs, only with EXCHANGE_SLOW_TESTS=1")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("EXCHANGE_SLOW_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set EXCHANGE_SLOW_TESTS=1 to run")
    for item in items:
        if "slow" in item.keywords and str(item.fspath).startswith(os.path.dirname(__file__)):
            item.add_marker(skip)
