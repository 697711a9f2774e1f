"""The venue's single writer: one task owns the engine, the ledger and everything published.

Connections put `Job`s on one queue. The engine task applies each job as soon as it is taken:
it either answers it from what the gateway knows (a resent cl_ord_id) or applies its command to
the engine, folding the events into the order tracker and the market data. Applied jobs form
the open batch. A query (order status, open orders, an operator's read) is evaluated as it is
taken, at its place among the batch's commands, so it sees exactly the requests sent before it;
a subscription is evaluated when the batch is sealed (it joins the streams after the batch's
market data). When no append is in flight, the open batch is sealed (market data flushed,
subscriptions evaluated, the engine digest taken) and appended to the ledger; jobs arriving
while that append is in flight are applied into the next open batch (group commit, and the
engine works while the disk does). Only after an append returns does it send that batch's
responses and query answers (in the order the requests arrived), execution reports and market
data, so every answer reflects a durable state: nothing a client was told can be missing after
a crash. An idle venue seals at once: a lone
order waits for one append, not for a batch to fill. If the ledger fails, the venue stops:
clients whose requests were not yet durable get STATUS_UNKNOWN, and every connection is closed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar

from exchange.engine import (
    CancelReason,
    Command,
    Engine,
    Event,
    ExpireOrders,
    ImportInstruments,
    MassCancel,
    TradingState,
)
from exchange.gateway import protocol
from exchange.gateway import snapshot as gateway_snapshot
from exchange.gateway.activity import ActivityMeter
from exchange.gateway.answers import outcome
from exchange.gateway.audience import Audience
from exchange.gateway.config import DEFAULT_CONFIG, GatewayConfig
from exchange.gateway.depth import DepthViews
from exchange.gateway.jobqueue import JobQueue
from exchange.gateway.jobs import Applied, Job, new_batch, now_us, owner_of
from exchange.gateway.keys import KeyStore
from exchange.gateway.marketdata import InstrumentFeed, MarketData
from exchange.gateway.orders import OrderTracker
from exchange.gateway.protocol import Code, RequestError
from exchange.gateway.ratelimit import TokenBucket
from exchange.gateway.reference import FeedsOnDemand, imported_specs
from exchange.gateway.reportlog import missed
from exchange.gateway.schedule import ScheduleDriver, Timetable
from exchange.gateway.session import SLOW_CONSUMER, Session, deliver
from exchange.ledger import Batch, Entry

log = logging.getLogger("exchange.gateway")

class Venue(Audience):
    not_served: ClassVar[dict[str, str]] = {}  # op -> why this venue cannot serve it (NOT_SUPPORTED)

    def __init__(self, engine: Engine, ledger: Any, keys: KeyStore,
                 config: GatewayConfig = DEFAULT_CONFIG) -> None:
        super().__init__(config.resume_window)
        self.engine = engine
        self.ledger = ledger
        self.keys = keys
        self.config = config
        self.tracker = OrderTracker()
        self.market = MarketData()
        self.depth = DepthViews()  # depth-limited book streams (depth.py)
        self.market.feeds = FeedsOnDemand(self._new_feed, self.market.feeds)  # bulk listings
        self.activity = ActivityMeter()  # for operators' stats
        self.timetable = Timetable()  # the instruments' trading days (schedule.py)
        self.schedule = ScheduleDriver(self, now_us)
        self.queue: JobQueue[Job] = JobQueue(config.queue_limit)
        self.sessions: set[Session] = set()
        self.account_buckets: dict[str, TokenBucket] = {}
        self.deadman: dict[str, asyncio.TimerHandle] = {}
        self.durable_seq = engine.last_command_seq
        self.failed: BaseException | None = None
        self.stopped = asyncio.Event()
        self.batches = 0

    # -- start ---------------------------------------------------------------------------

    async def recover(self) -> None:
        """Rebuild the tracker and market data (the engine comes from the ledger's own
        recovery): from the gateway state saved with the snapshot the engine started from, then
        the entries after it; from every entry if that snapshot has none. O(entries replayed).
        From here on the venue takes the snapshots itself, with its own state."""
        self.ledger.attach(None)
        recovered = self.ledger.recovered
        start = 1
        if recovered.edge is not None and recovered.engine is self.engine:
            specs = {symbol: i.spec for symbol, i in self.engine.instruments.items()}
            try:
                tracker, market = gateway_snapshot.load(recovered.edge, specs)
                timetable = gateway_snapshot.load_timetable(recovered.edge)
            except gateway_snapshot.GatewaySnapshotError:
                log.warning("the gateway state of snapshot %d does not load: replaying all",
                            recovered.snapshot_seq)
            else:
                self.tracker, self.market = tracker, market
                self.market.feeds = FeedsOnDemand(self._new_feed, market.feeds)
                self.timetable = timetable
                start = recovered.snapshot_seq + 1
        last = self.engine.last_command_seq
        if last >= start:
            async for entry in self.ledger.entries(start, last):
                self.tracker.apply(entry.command, entry.events, ())
                self.tracker.specs.update(imported_specs(entry.command, entry.events,
                                                         self.engine.instruments))
                self.market.apply(entry.command, entry.events)
                self.timetable.apply(entry.command, entry.events)
        self.market.discard_pending()
        for symbol, shown in self.market.feeds.items():  # a snapshot from before phases: none
            shown.auction.phase = TradingState(self.engine.instruments[symbol].state)
        for symbol, book in self.engine.books.items():
            if symbol not in self.market.feeds:  # no feed yet: never had an order
                assert not book.bids.levels and not book.asks.levels, symbol
                continue
            feed = self.market.feeds[symbol].book
            assert feed.top(True, None) == [(lv.price, lv.total) for lv in book.bids], symbol
            assert feed.top(False, None) == [(lv.price, lv.total) for lv in book.asks], symbol

    async def apply_now(self, commands: list[Command], origin: str) -> list[list[Event]]:
        """Apply commands in one durable batch before traffic starts (demo setup)."""
        entries: list[Entry] = []
        results = [self._apply(command, origin, None, entries) for command in commands]
        if entries:
            await self.ledger.append(Batch(entries, self.engine.digest()))
            self.durable_seq = entries[-1].seq
            self.batches += 1
        self.market.discard_pending()
        return results

    # -- the engine task -----------------------------------------------------------------

    async def submit(self, job: Job) -> None:
        if self.failed is not None:
            raise RequestError(Code.STATUS_UNKNOWN, "the venue is stopped")
        owner = owner_of(job.session)
        if owner is not None:
            owner.pending += 1  # before waiting: a drain-close waits for this answer too
        await self.queue.put(job)

    def offer(self, job: Job) -> bool:
        """`submit` without waiting: False if the venue is stopped or its queue is full."""
        if self.failed is not None or not self.queue.offer(job):
            return False
        owner = owner_of(job.session)
        if owner is not None:
            owner.pending += 1
        return True

    async def run(self) -> None:
        """Apply jobs as they come, one append in flight at a time; stop the venue if the
        ledger fails.

        Each round: apply the waiting jobs into the open batch (at most `batch_cap`); if the
        append in flight has returned (it published its batch), seal the open batch and start
        appending it; then sleep until a job arrives or the append returns.
        A due snapshot takes no new jobs, so the pipeline drains and the snapshot is taken with
        the engine exactly at the last durable batch."""
        queue = self.queue
        cap = self.config.batch_cap
        loop = asyncio.get_running_loop()
        task: asyncio.Task | None = None
        inflight: Applied | None = None
        batch: Applied | None = None  # open: applied, not sealed
        try:
            while True:
                snapshot_due = self.ledger.snapshot_due
                if not snapshot_due and not queue.empty():
                    if batch is None:
                        batch = new_batch()
                    absorb = self._absorb
                    while len(batch.jobs) < cap and not queue.empty():
                        absorb(batch, queue.take())
                if task is not None and task.done():
                    task.result()  # a ledger failure stops the venue here
                    task = inflight = None  # and published (by _append)
                if task is None:
                    if batch is not None:
                        sealed, batch = self._seal(batch), None
                        if sealed.entries:
                            task = loop.create_task(self._append(sealed))
                            task.add_done_callback(queue.wake)
                            inflight = sealed
                        else:  # answers and queries only, on a durable state: answer now
                            self._publish(sealed)
                        continue
                    if snapshot_due:
                        # the gateway's state is dumped in the ledger's forked child with the
                        # engine's: O(every order of the day), it held the loop 0.4-0.6 s
                        await self.ledger.snapshot(self.engine, functools.partial(
                            gateway_snapshot.dump, self.tracker, self.market, self.timetable))
                        continue
                full = batch is not None and len(batch.jobs) >= cap
                if task is not None and (snapshot_due or full):
                    await asyncio.wait((task,))  # no room for more jobs until it returns
                else:
                    await queue.wait()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # the ledger (or a bug): nothing more may be published
            log.exception("venue stopped")
            self.failed = exc
            unanswered = [*(inflight.jobs if inflight is not None else ()),
                          *(batch.jobs if batch is not None else ()), *queue.take_all()]
            self._fail_all(unanswered)
            self.stopped.set()

    def _absorb(self, batch: Applied, job: Job) -> None:
        """Apply one job into the open batch; nothing is sent. A query is evaluated here, at its
        place among the batch's commands (it sees exactly the commands sent before it); a
        subscription at the seal (it joins the streams after the batch's market data)."""
        batch.jobs.append(job)
        if job.at_seal:
            batch.late.append((len(batch.replies), job))
            batch.replies.append((job.session, None, None))
        elif job.query:
            batch.replies.append((job.session, *self._evaluate(job)))
        else:
            batch.replies.append((job.session, self._run_job(job, batch), None))

    def _seal(self, batch: Applied) -> Applied:
        """Close the open batch: its market data, its subscriptions' answers against the state
        after its commands, and the engine digest it ends at."""
        batch.market.extend(self.depth.follow(self.market.flush(), self.market.feeds))
        for place, job in batch.late:
            batch.replies[place] = (job.session, *self._evaluate(job))
        return batch._replace(digest=self.engine.digest() if batch.entries else "")

    async def _append(self, applied: Applied) -> None:
        """Make the batch durable, then publish it at once: in this task's step, not after two
        more trips through the event loop to wake the engine task. (Appends are one at a time,
        so batches are still published in order.)"""
        await self.ledger.append(Batch(applied.entries, applied.digest))
        self.durable_seq = applied.entries[-1].seq
        self.batches += 1
        self._publish(applied)

    def _publish(self, applied: Applied) -> None:
        """Everything a durable batch makes visible: responses and query answers in the order
        the requests arrived, then reports (one write per session), market data, then what
        follows a subscription's answer (joining the stream, its snapshot or resume)."""
        posted: list[Session] = []
        thens: list[Callable[[], None]] = []
        answered: list[Session] = []
        for target, reply, then in applied.replies:
            if type(target) is Session:
                if target.post(reply):  # type: ignore[arg-type]
                    posted.append(target)
            elif target is not None:  # a stand-in that sends (operator ops): keep the order
                owner = owner_of(target)
                if owner is not None and owner.posted:
                    owner.flush()
                target.send(reply)
            owner = owner_of(target)
            if owner is not None:
                owner.pending -= 1
                if owner.drain is not None:
                    answered.append(owner)
            if then is not None:
                thens.append(then)
        self.post_reports(applied.reports, posted)
        for session in posted:
            session.flush()
        for session in answered:
            session.closed_if_answered()
        for channel, symbol, message in applied.market:
            subscribers = self.md_subs.get((channel, symbol))
            if subscribers:
                deliver(subscribers, message, channel, symbol, self.drop_market_data)
        for then in thens:
            then()

    def _run_job(self, job: Job, batch: Applied) -> dict[str, Any]:
        try:
            work = job.work(self) if callable(job.work) else job.work
        except RequestError as exc:
            return protocol.error(job.request_id, exc.code, exc.msg)
        if isinstance(work, dict):
            return protocol.ok(job.request_id, work)
        events = self._apply(work, job.origin, batch.reports, batch.entries)
        return outcome(self.tracker, self.engine, job.request_id, work, events)

    def _apply(self, command: Command, origin: str, reports: list | None,
               entries: list[Entry]) -> list[Event]:
        engine = self.engine
        events = engine.apply(command)
        entries.append(Entry(engine.last_command_seq, command, events, origin))
        self.fold(command, events, reports)
        return events

    def fold(self, command: Command, events: list[Event], reports: list | None) -> None:
        """Fold an applied command's events into the tracker, the kept reports and the market
        data; its new reports are added to `reports`. (The cluster's gateways fold the events
        the shards' outputs carry: exchange/cluster/gateway_venue.py.)"""
        wanted = self.exec_interest  # build reports only for accounts ever listened to
        new_reports = self.tracker.apply(command, events, wanted)
        if type(command) is ImportInstruments:
            self.tracker.specs.update(imported_specs(command, events, self.engine.instruments))
        if new_reports:
            self.reports.keep(new_reports)
            if reports is not None:
                reports.extend(new_reports)
        self.market.apply(command, events)
        self.timetable.apply(command, events)

    # -- queries and market-data streams ------------------------------------------------

    def _evaluate(self, job: Job) -> tuple[dict[str, Any], Callable[[], None] | None]:
        """A query's answer now, and what to do once it is sent (subscribe, send a snapshot)."""
        after = None
        try:
            answer = job.work(self)
            if isinstance(answer, tuple):
                answer, after = answer
            return protocol.ok(job.request_id, answer), after
        except RequestError as exc:
            return protocol.error(job.request_id, exc.code, exc.msg), None

    async def trade_rows(self, symbol: str, since_us: int, limit: int, after_seq: int = 0,
                         newest: bool = False) -> list[Any]:
        """The market history ops' trades (history.py): up to `limit` of the instrument's,
        oldest first, at or after `since_us` and after `after_seq`; `newest`: the last ones.
        Here from the ledger's trades table (a cluster gateway keeps its own)."""
        from exchange.gateway.history import ledger_trade_rows

        return await ledger_trade_rows(self, symbol, since_us, limit, after_seq, newest)

    def drop_market_data(self, session: Session, channel: str, symbol: str) -> None:
        """A client too slow for a market-data stream: unsubscribe it and say so."""
        self.unsubscribe_market(session, channel, symbol)
        self.activity.resyncs_required += 1
        session.send({"ch": channel.split("/")[0], "type": "resync_required", "sym": symbol,
                      "reason": SLOW_CONSUMER})

    def missed_reports(self, account: str, after: int, upto: int,
                       upto_seq: int) -> AsyncIterator[dict[str, Any]]:
        """The account's reports after < exec_seq <= upto, re-derived from the ledger for
        resumes past what `reports` keeps (reportlog.missed)."""
        return missed(self.ledger, self.tracker.specs, account, after, upto, upto_seq)

    # -- sessions ------------------------------------------------------------------------

    def account_bucket(self, account: str) -> TokenBucket:
        bucket = self.account_buckets.get(account)
        if bucket is None:
            config = self.config
            bucket = TokenBucket(config.order_rate, config.order_burst, time.monotonic())
            self.account_buckets[account] = bucket
        return bucket

    async def session_closed(self, session: Session) -> None:
        """Forget a session; with cancel-on-disconnect, cancel its account's orders."""
        self.sessions.discard(session)
        close = session.ws.protocol.close_sent
        if close is not None and close.reason == SLOW_CONSUMER:
            self.activity.slow_consumer_disconnects += 1
        for channel, symbol in list(session.md_channels):
            self.unsubscribe_market(session, channel, symbol)
        for account in list(session.exec_accounts):
            self.unsubscribe_exec(session, account)
        owner = session.account
        if session.cancel_on_disconnect and owner is not None and self.failed is None:
            await self.cancel_all(owner, CancelReason.DISCONNECT)

    async def cancel_all(self, account: str, why: CancelReason) -> None:
        """Cancel the account's live orders for the gateway (the engine records why)."""
        command = MassCancel(now_us(), account, reason=why)
        await self.submit(Job(None, None, command, f"gateway:{account}"))

    def arm_deadman(self, account: str, timeout_ms: int) -> int | None:
        """(Re)arm the account's dead-man's switch; 0 disarms. Returns the trigger time (us)."""
        handle = self.deadman.pop(account, None)
        if handle is not None:
            handle.cancel()
        if not timeout_ms:
            return None
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self.deadman.pop(account, None)
            if self.failed is None:
                loop.create_task(self.cancel_all(account, CancelReason.DEAD_MANS_SWITCH))

        self.deadman[account] = loop.call_later(timeout_ms / 1000, fire)
        return now_us() + timeout_ms * 1000

    async def tick(self) -> None:
        """Once in a while: heartbeats to idle market-data subscribers; GTD expiries and
        scheduled phase changes due."""
        now = time.monotonic()
        self.activity.sample(now, self.engine)
        beat = None
        for session in self.sessions:
            if session.md_channels and now - session.last_md_s >= self.config.heartbeat_s:
                beat = beat or self.market.heartbeat(now_us())
                session.last_md_s = now
                session.send(beat)
        queue, ends, clock_us = self.engine.gtd_queue, self.engine.call_ends, now_us()
        if ((queue and queue[0][0] <= clock_us) or (ends and ends[0][0] <= clock_us)) \
                and self.queue.empty():  # GTD expiries, or a volatility call's end
            await self.submit(Job(None, None, ExpireOrders(now_us()), "venue:clock"))
        await self.schedule.due()

    def _new_feed(self, symbol: str) -> InstrumentFeed:
        instrument = self.engine.instruments.get(symbol)
        phase = TradingState.OPEN if instrument is None else TradingState(instrument.state)
        return InstrumentFeed(symbol, self.tracker.specs[symbol].price_decimals, phase)

    def _fail_all(self, jobs: list[Job]) -> None:
        for job in jobs:
            if job.session is not None:
                owner = owner_of(job.session)
                if owner is not None:
                    owner.pending -= 1
                job.session.send(protocol.error(job.request_id, Code.STATUS_UNKNOWN,
                                                "the venue stopped before this was durable"))
        for session in list(self.sessions):
            session.close(1011, "venue stopped: ledger failure")

