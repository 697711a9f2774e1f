"""Who listens to what: the sessions subscribed to each market-data stream and to each
account's execution reports, and the accounts whose reports are built at all.

Called in the engine task (or where nothing else can interleave), so a subscription takes
effect between two batches' publications."""

from __future__ import annotations

from typing import Any

from exchange.gateway.reportlog import ReportLog
from exchange.gateway.session import Session


class Audience:
    """The subscriptions of a venue's sessions (the venue is one)."""

    def __init__(self, resume_window: int) -> None:
        self.exec_subs: dict[str, set[Session]] = {}  # account ("*": all) -> sessions
        self.md_subs: dict[tuple[str, str], set[Session]] = {}  # (channel, symbol) -> sessions
        self.exec_interest: set[str] | None = set()  # None: all ("*" was subscribed)
        # each account's latest reports (built since someone listened), for cheap resumes
        self.reports = ReportLog(resume_window)

    def subscribe_market(self, session: Session, channel: str, symbol: str) -> None:
        self.md_subs.setdefault((channel, symbol), set()).add(session)
        session.md_channels.add((channel, symbol))

    def unsubscribe_market(self, session: Session, channel: str, symbol: str) -> None:
        self.md_subs.get((channel, symbol), set()).discard(session)
        session.md_channels.discard((channel, symbol))

    def want_reports(self, account: str) -> None:
        """From now on, build the account's execution reports ("*": everyone's)."""
        if self.exec_interest is not None:
            if account == "*":
                self.exec_interest = None
            else:
                self.exec_interest.add(account)

    def subscribe_exec(self, session: Session, account: str) -> None:
        self.exec_subs.setdefault(account, set()).add(session)
        session.exec_accounts.add(account)

    def unsubscribe_exec(self, session: Session, account: str) -> None:
        self.exec_subs.get(account, set()).discard(session)
        session.exec_accounts.discard(account)

    def post_reports(self, reports: list[tuple[str, dict[str, Any]]],
                     posted: list[Session]) -> None:
        """Queue each report on the sessions following its account (or everyone's); the
        sessions given one are added to `posted` (each is flushed once, by the caller)."""
        subs = self.exec_subs
        watchers = subs.get("*") or ()
        for account, report in reports:
            for session in (*subs.get(account, ()), *watchers):
                if session.post_report(report):
                    posted.append(session)
