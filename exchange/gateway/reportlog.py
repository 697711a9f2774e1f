"""Execution reports kept for resumes: each account's latest (in memory), older ones re-derived
from the ledger.

`ReportLog.keep` holds the newest `window` reports of each account someone listened to (they
are consecutive in exec_seq); `kept(account, after, upto)` returns a resume's reports from them
when they reach back far enough. `missed` re-derives older ones from the ledger, starting from
the newest gateway snapshot that precedes them. Costs: keep O(1) per report; kept O(reports
returned); missed O(entries replayed).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import AsyncIterator, Mapping
from typing import Any

from exchange.engine import AddInstrument
from exchange.gateway import snapshot as gateway_snapshot
from exchange.gateway.orders import OrderTracker
from exchange.ledger import LedgerError

log = logging.getLogger("exchange.gateway")
Report = dict[str, Any]


class ReportLog:
    def __init__(self, window: int) -> None:
        self.window = window
        self.recent: dict[str, deque[Report]] = {}  # account -> its latest reports

    def keep(self, reports: list[tuple[str, Report]]) -> None:
        recent, window = self.recent, self.window
        for account, report in reports:
            kept = recent.get(account)
            if kept is None:
                kept = recent[account] = deque(maxlen=window)
            kept.append(report)

    def kept(self, account: str, after: int, upto: int) -> list[Report] | None:
        """The account's reports with after < exec_seq <= upto if they are all still kept,
        else None."""
        kept = self.recent.get(account)
        if upto <= after:
            return []
        if not kept or kept[0]["exec_seq"] > after + 1 or kept[-1]["exec_seq"] < upto:
            return None
        first = after + 1 - kept[0]["exec_seq"]  # kept reports are consecutive in exec_seq
        return list(itertools.islice(kept, first, first + upto - after))


async def missed(ledger: Any, specs: Mapping[str, AddInstrument], account: str, after: int,
                 upto: int, upto_seq: int) -> AsyncIterator[Report]:
    """The account's reports with after < exec_seq <= upto, re-derived from the ledger: from
    the newest gateway snapshot whose tracker had not yet given the account's report
    `after + 1`, then the entries after it (from seq 1 if none did)."""
    tracker, start = OrderTracker(), 1
    for seq in await ledger.edge_seqs(upto_seq):
        try:
            saved = gateway_snapshot.load(await ledger.edge(seq), specs)[0]
        except (gateway_snapshot.GatewaySnapshotError, LedgerError) as exc:
            log.warning("resume: the gateway state of snapshot %d is not used: %s", seq, exc)
            continue
        if saved.exec_seq.get(account, 0) <= after:
            tracker, start = saved, seq + 1
            break
    count = 0
    wanted = (account,)
    async for entry in ledger.entries(start, upto_seq):
        for owner, report in tracker.apply(entry.command, entry.events, wanted):
            if owner == account and after < report["exec_seq"] <= upto:
                yield report
        if tracker.exec_seq.get(account, 0) >= upto:
            return
        count += 1
        if count % 2000 == 0:
            await asyncio.sleep(0)  # let the venue breathe during a long replay
