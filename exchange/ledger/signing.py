"""The venue's Ed25519 signing key, and the signatures that prove who wrote a ledger.

The writer signs each batch's hash and each snapshot's hash with the venue's private key, which
lives in a file outside the ledger (by default `LEDGER.key` beside it, PEM, mode 0600, made on
a new ledger's first start; `LEDGER.key.pub` beside it holds the public key for auditors). The
public key is also in the ledger's `meta`, so `exchange audit verify` can check a file alone;
an auditor who got the public key from the venue separately (`--pubkey`) proves that every
batch came from the key holder, since anyone can rewrite `meta`.

A signature signs a context string and the hash's 32 bytes, so a batch's signature can never
pass for a snapshot's. Cost: signing ~50 us, checking ~100-150 us (OpenSSL, via
`cryptography`), once per batch or snapshot.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from exchange.ledger.schema import (
    BatchRecord,
    LedgerError,
    SnapshotSeal,
    sha256_hex,
    snapshot_hash,
)

BATCH = b"exchange ledger batch\x00"
SNAPSHOT = b"exchange ledger snapshot\x00"


def key_path_for(ledger: Path) -> Path:
    """Where the venue's private key lives unless told otherwise: beside the ledger file."""
    return ledger.with_name(ledger.name + ".key")


class VenueKey:
    """The private key a writer signs with."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public_hex = private.public_key().public_bytes_raw().hex()

    @classmethod
    def generate(cls) -> VenueKey:
        return cls(Ed25519PrivateKey.generate())

    def sign(self, context: bytes, hash_hex: str) -> str:
        """The signature (hex) of `context` + the hash's bytes."""
        return self._private.sign(context + bytes.fromhex(hash_hex)).hex()

    def sign_batch(self, hash_hex: str) -> str:
        return self.sign(BATCH, hash_hex)

    def sign_snapshot(self, hash_hex: str) -> str:
        return self.sign(SNAPSHOT, hash_hex)

    def pem(self) -> bytes:
        return self._private.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption())


def load_or_create(path: Path, create: bool) -> VenueKey:
    """The key in `path`; if there is none and `create` (a new ledger), a fresh key written
    there (mode 0600) with its public key in `path.pub`. LedgerError for a missing key of an
    existing ledger, a key others may read, or a file that holds no Ed25519 key."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if not create:
            raise LedgerError(f"no signing key {path}: the ledger was signed with a key that "
                              "must be given (exchange serve --signing-key FILE)") from None
        return _create(path)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise LedgerError(f"signing key {path} is readable by others (mode "
                          f"{stat.S_IMODE(mode):o}): chmod 600 it")
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError, OSError) as exc:
        raise LedgerError(f"signing key {path}: not a readable PEM private key ({exc})") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise LedgerError(f"signing key {path}: not an Ed25519 key")
    return VenueKey(private)


def _create(path: Path) -> VenueKey:
    key = VenueKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".tmp")
    handle = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(handle, key.pem())
        os.fsync(handle)
    finally:
        os.close(handle)
    os.replace(temp, path)
    path.with_name(path.name + ".pub").write_text(key.public_hex + "\n")
    return key


def public_key(text: str, where: str) -> Ed25519PublicKey:
    """The public key in `text`: 64 hex digits (as in `meta` and `.pub` files) or a PEM public
    key. LedgerError naming `where` otherwise."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            found = serialization.load_pem_public_key(text.encode())
            if not isinstance(found, Ed25519PublicKey):
                raise ValueError("not an Ed25519 key")
            return found
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))
    except ValueError as exc:
        raise LedgerError(f"{where}: not an Ed25519 public key ({exc})") from None


def public_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes_raw().hex()


def signed(key: Ed25519PublicKey, context: bytes, hash_hex: str, signature_hex: str) -> bool:
    """Whether `signature_hex` is `key`'s signature of `context` + the hash's bytes."""
    try:
        key.verify(bytes.fromhex(signature_hex), context + bytes.fromhex(hash_hex))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def batch_fault(key: Ed25519PublicKey, batch: BatchRecord) -> str | None:
    """What is wrong with `batch`'s signature under `key`, or None. (Its hash is checked by
    schema.chain_fault.)"""
    if signed(key, BATCH, batch.hash, batch.signature):
        return None
    return f"batch {batch.id} is not signed by the venue key {public_hex(key)[:16]}…"


def snapshot_fault(key: Ed25519PublicKey, seal: SnapshotSeal, batch: BatchRecord | None,
                   body: bytes | None = None, edge: bytes | None = None) -> str | None:
    """What is wrong with the snapshot `seal` (and its `body` / `edge` bytes, when given: each
    is checked against its hash) as the signed snapshot at the end of `batch`, or None."""
    if batch is None or batch.last_seq != seal.seq or batch.digest != seal.digest:
        return f"the snapshot at seq {seal.seq} does not end a batch with its digest"
    own = snapshot_hash(seal.seq, seal.digest, seal.format, seal.body_hash, seal.edge_hash,
                        batch.hash)
    if own != seal.hash:
        return f"the snapshot at seq {seal.seq}: its hash does not match its contents"
    if not signed(key, SNAPSHOT, seal.hash, seal.signature):
        return (f"the snapshot at seq {seal.seq} is not signed by the venue key "
                f"{public_hex(key)[:16]}…")
    if body is not None and sha256_hex(body) != seal.body_hash:
        return f"the snapshot at seq {seal.seq}: its engine state does not match its hash"
    if edge is not None and sha256_hex(edge) != seal.edge_hash:
        return f"the snapshot at seq {seal.seq}: its gateway state does not match its hash"
    return None
