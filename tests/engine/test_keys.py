"""API keys are venue state: issued and revoked by commands, so the ledger records who made
each key and when, and a replay rebuilds the keys the gateway accepts."""

from __future__ import annotations

from typing import Any

import pytest

from exchange.engine import snapshot
from exchange.engine.commands import IssueKey, RevokeKey
from exchange.engine.engine import Engine
from exchange.engine.events import KeyIssued, KeyRevoked
from exchange.engine.reasons import Reject
from tests.engine.helpers import kinds, state, venue

SALT, HASH = "0" * 32, "ab" * 32


def issue(key_id: str = "k1", role: str = "trader", account: Any = "a1", **fields: Any) -> IssueKey:
    return IssueKey(**{"ts_us": 7, "key_id": key_id, "role": role, "account": account,
                       "salt": SALT, "secret_hash": HASH, **fields})


def rejected(engine: Engine, command: Any) -> Reject:
    before = state(engine)
    events = engine.apply(command)
    assert kinds(events) == ["CommandRejected"], events
    assert state(engine) == before
    return events[0].reason


def test_issue_key_records_the_key_without_its_secret_and_answers_key_issued() -> None:
    engine = venue()
    events = engine.apply(issue())
    assert events == [KeyIssued(engine.seq, 7, "k1", "trader", "a1")]
    key = engine.keys["k1"]
    assert (key.role, key.account, key.salt, key.secret_hash, key.revoked) == (
        "trader", "a1", SALT, HASH, False)
    engine.check()


def test_operator_and_auditor_keys_name_no_account() -> None:
    engine = venue(issue("op", "operator", None), issue("au", "auditor", None))
    assert {k: v.role for k, v in engine.keys.items()} == {"op": "operator", "au": "auditor"}


@pytest.mark.parametrize("command", [
    issue(role="admin"),
    issue(account=None),  # a trader key needs its account
    issue("op", "operator", "a1"),  # an operator key acts for no account
    issue("k.1"),  # '.' separates the id from the secret
    issue(""),
    issue("k" * 65),
    issue(salt="00"),
    issue(secret_hash="AB" * 32),  # lower-case hex only
    issue(secret_hash=b"ab" * 32),
    issue(ts_us=1.5),
])
def test_a_malformed_key_is_invalid_and_changes_nothing(command: IssueKey) -> None:
    assert rejected(venue(), command) is Reject.INVALID_FIELD


def test_a_trader_key_for_an_unknown_account_is_rejected() -> None:
    assert rejected(venue(), issue(account="nobody")) is Reject.UNKNOWN_ACCOUNT


def test_a_key_id_names_one_key_forever_even_after_revoking() -> None:
    engine = venue(issue(), RevokeKey(8, "k1"))
    assert rejected(engine, issue()) is Reject.DUPLICATE_KEY


def test_revoke_key_marks_it_revoked_once() -> None:
    engine = venue(issue())
    events = engine.apply(RevokeKey(9, "k1"))
    assert events == [KeyRevoked(engine.seq, 9, "k1")] and engine.keys["k1"].revoked
    assert rejected(engine, RevokeKey(10, "k1")) is Reject.UNKNOWN_KEY
    assert rejected(engine, RevokeKey(10, "k2")) is Reject.UNKNOWN_KEY
    assert rejected(engine, RevokeKey(10, 5)) is Reject.INVALID_FIELD
    engine.check()


def test_keys_are_in_the_digest_and_survive_a_snapshot() -> None:
    # same number of commands and the same clock: only the keys differ
    assert venue(issue("k1")).digest() != venue(issue("k2")).digest()
    revoked = venue(issue(), RevokeKey(8, "k1"))
    assert revoked.digest() != venue(issue(), RevokeKey(8, "k2")).digest()
    loaded = snapshot.load(snapshot.dump(revoked))
    assert loaded.digest() == revoked.digest()
    assert loaded.keys["k1"].canonical() == revoked.keys["k1"].canonical()
    loaded.check()
