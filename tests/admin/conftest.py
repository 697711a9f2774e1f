"""Admin tests run against a real venue (tests/gateway/conftest.py starts it): a Server on
127.0.0.1 port 0 on a real ledger in tmp_path, with the demo accounts and an operator key."""

from __future__ import annotations

from tests.gateway.conftest import pytest_pyfunc_call  # noqa: F401  (async tests, time limit)
