"""CLI tests run against a real venue (tests/gateway/conftest.py starts it)."""

from __future__ import annotations

from tests.gateway.conftest import pytest_pyfunc_call  # noqa: F401  (async tests, time limit)
