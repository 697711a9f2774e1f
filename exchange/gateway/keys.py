"""API keys: issued, verified and revoked; only salted hashes are stored.

An API key reads `<key_id>.<secret>`. The store keeps, per key_id, the role (trader, operator,
auditor), the account a trader key acts for, a random salt and SHA-256(salt + secret); the
secret itself is shown once, when issued, and never stored. Verification looks the key_id up and
compares hashes in constant time.

The store is a sidecar JSON file beside the ledger (`<ledger>.keys.json`), rewritten atomically
(temp file, fsync, rename) on each change; `path=None` keeps it in memory (tests). Keys are
not ledger state: issuing or revoking one changes no order or trade, so they stay out of the
engine's sequence.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import NamedTuple

ROLES = ("trader", "operator", "auditor")


class Principal(NamedTuple):
    """Who a verified key speaks for."""

    key_id: str
    role: str
    account: str | None  # a trader key's account; None for operators and auditors


class KeyStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._keys: dict[str, dict] = {}
        if path is not None and path.exists():
            self._keys = json.loads(path.read_text())

    @classmethod
    def beside(cls, ledger_path: Path) -> KeyStore:
        return cls(ledger_path.with_name(ledger_path.name + ".keys.json"))

    def issue(self, role: str, account: str | None = None, key_id: str | None = None) -> str:
        """A new key (the only time its secret exists in clear). Replaces a key of the same id."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if (role == "trader") != (account is not None):
            raise ValueError("a trader key needs an account, other roles none")
        key_id = key_id or secrets.token_hex(6)
        if not key_id.isprintable() or "." in key_id or not 0 < len(key_id) <= 64:
            raise ValueError("key_id: 1-64 printable characters, no '.'")
        secret = secrets.token_urlsafe(24)
        salt = secrets.token_hex(16)
        self._keys[key_id] = {"role": role, "account": account, "salt": salt,
                              "hash": _hash(salt, secret), "revoked": False}
        self._save()
        return f"{key_id}.{secret}"

    def revoke(self, key_id: str) -> bool:
        """Revoke a key; False if there is no such live key."""
        record = self._keys.get(key_id)
        if record is None or record["revoked"]:
            return False
        record["revoked"] = True
        self._save()
        return True

    def verify(self, api_key: object) -> Principal | None:
        """Who the key speaks for, or None (unknown, revoked, malformed)."""
        if type(api_key) is not str or "." not in api_key or len(api_key) > 200:
            return None
        key_id, secret = api_key.split(".", 1)
        record = self._keys.get(key_id)
        if record is None or record["revoked"]:
            return None
        if not hmac.compare_digest(record["hash"], _hash(record["salt"], secret)):
            return None
        return Principal(key_id, record["role"], record["account"])

    def is_live(self, key_id: str) -> bool:
        record = self._keys.get(key_id)
        return record is not None and not record["revoked"]

    def list(self) -> list[dict]:
        return [{"key_id": key_id, "role": r["role"], "account": r["account"],
                 "revoked": r["revoked"]} for key_id, r in sorted(self._keys.items())]

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(self.path.name + ".tmp")
        with open(temp, "w") as file:
            json.dump(self._keys, file, indent=1, sort_keys=True)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, self.path)


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256((salt + secret).encode()).hexdigest()
