"""API keys: made here, held by the engine, verified here.

An API key reads `<key_id>.<secret>`. `new_key` makes a random secret and salt (the engine is
pure and draws no randomness) and the `IssueKey` command that carries the role, a trader key's
account, the salt and SHA-256(salt + secret). The engine holds keys as venue state, so the
ledger records who issued and who revoked every key and when, and recovery rebuilds them; the
secret itself is shown once, in the answer to whoever asked for the key, and stored nowhere.
`KeyStore` is the gateway's read-only view: it looks a key up in the engine and compares hashes
in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any, NamedTuple

from exchange.engine.commands import IssueKey
from exchange.engine.instrument import KEY_ROLES, ApiKey

ROLES = KEY_ROLES
MAX_API_KEY_LENGTH = 200


class Principal(NamedTuple):
    """Who a verified key speaks for."""

    key_id: str
    role: str
    account: str | None  # a trader key's account; None for operators and auditors


def new_key(ts_us: int, role: str, account: str | None,
            key_id: str | None = None) -> tuple[IssueKey, str]:
    """The command that registers a fresh key, and the API key (id.secret) it will accept. The
    engine judges the fields (role, account, id) when it applies the command."""
    key_id = key_id or secrets.token_hex(6)
    secret = secrets.token_urlsafe(24)
    salt = secrets.token_hex(16)
    return IssueKey(ts_us, key_id, role, account, salt, _hash(salt, secret)), f"{key_id}.{secret}"


class KeyStore:
    """The keys the venue accepts: a view of the engine's `keys`."""

    def __init__(self, keys: Mapping[str, ApiKey]) -> None:
        self._keys = keys

    def verify(self, api_key: object) -> Principal | None:
        """Who the key speaks for, or None (unknown, revoked, malformed)."""
        if type(api_key) is not str or len(api_key) > MAX_API_KEY_LENGTH \
                or not api_key.isascii() or "." not in api_key:
            return None  # keys are ASCII (hex id, urlsafe secret): a surrogate never hashes
        key_id, secret = api_key.split(".", 1)
        key = self._keys.get(key_id)
        if key is None or key.revoked:
            return None
        if not hmac.compare_digest(key.secret_hash, _hash(key.salt, secret)):
            return None
        return Principal(key_id, key.role, key.account)

    def list(self) -> list[dict[str, Any]]:
        return [{"key_id": key_id, "role": key.role, "account": key.account,
                 "revoked": key.revoked} for key_id, key in sorted(self._keys.items())]


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256((salt + secret).encode()).hexdigest()
