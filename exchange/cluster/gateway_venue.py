"""A stateless gateway's venue: the single-process gateway's `Venue` with the cluster behind it.

Everything a client sees comes from `OUT_ALL` (merged.py), folded in its order with the
single-process gateway's own code (`Venue.fold`: the order tracker, execution reports with their
`exec_seq`, market data), so any gateway shows the same orders, reports and books, and a gateway
restarted from nothing rebuilds them by folding `OUT_ALL` from its start. The ops, sessions and
websocket edge are `exchange.gateway`'s, unchanged; only what the engine task did differs:

- A command is stored in its shard's IN (`OrderEntry`: orders with `Nats-Msg-Id =
  <account>:<cl_ord_id>`) and answered when this gateway folds its output, from the events in it,
  as the single-process venue answers from the engine's (a resent order JetStream reports as a
  duplicate is answered with the order's status and `"duplicate": true`).
- Each session's requests are answered in the order sent. A request is evaluated only after the
  session's earlier ones are answered, except that new orders may follow orders in flight
  (pipelined); so `new_order X, cancel_order X` cancels X.
- A read (a query or a subscription) first waits until this gateway has folded `OUT_ALL` up to
  where it ended when the read arrived: whatever any gateway had shown a client by then, this
  one shows too (a client resuming its reports on another gateway misses nothing).
- The reference engine (`self.engine`) holds what the ops read besides orders: accounts, firms
  and keys (applied from the first shard's outputs; every shard has them) and instruments (from
  the shard that lists each); it never sees an order.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, OrderedDict, deque
from collections.abc import AsyncIterator
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg

from exchange.cluster.follow import Follower, replay_reports
from exchange.cluster.merged import MERGED, Folded, GapInMerged, MergedPosition
from exchange.cluster.names import order_id
from exchange.cluster.order_entry import OrderEntry, UnroutableCommand
from exchange.cluster.routing import shard_commands
from exchange.engine import Engine
from exchange.engine.codec import encode
from exchange.engine.commands import (
    AddAccount,
    AddInstrument,
    IssueKey,
    RevokeKey,
    SetAccountLimits,
    SetKillSwitch,
    SetPriceBand,
    SetTradingState,
    StartTradingDay,
    SubmitOrder,
)
from exchange.engine.enums import Side
from exchange.engine.events import TradeExecuted
from exchange.gateway import protocol
from exchange.gateway.answers import outcome
from exchange.gateway.config import GatewayConfig
from exchange.gateway.jobs import Job, owner_of
from exchange.gateway.keys import KeyStore
from exchange.gateway.protocol import Code, RequestError
from exchange.gateway.session import deliver
from exchange.gateway.venue import Venue
from exchange.ledger.queries import TradeRow

log = logging.getLogger("exchange.cluster.gateway")

REFERENCE_FROM_EVERY = (AddInstrument, SetTradingState, SetPriceBand)
REFERENCE_FROM_FIRST = (AddAccount, SetAccountLimits, SetKillSwitch, StartTradingDay, IssueKey,
                        RevokeKey)
TRADES_KEPT = 10_000  # per instrument, for the market history ops (older: the ledger)
LEDGER = "reads the ledger, which a cluster gateway does not have (PostgreSQL: docs/cluster.md)"
NOT_ON_A_CLUSTER: dict[str, str] = {  # op -> why (answered NOT_SUPPORTED, docs/cluster.md)
    "my_trades": LEDGER,
    "list_trades": LEDGER,
    "stats": LEDGER,
    "import_instruments": "one listing all or none would span shards",
    "set_credit_limit": "a firm's credit spans shards; no shard sees all of it",
    "set_schedule": "no process drives trading schedules on a cluster yet",
    "set_volatility_bands": "SetVolatilityBands is not routed to the shards yet",
}
EARLY_KEPT = 4096  # answers of outputs folded before their PubAck was read (rare: resends)


class Pending:
    """One request of a session on its way: NEW, then SENT (stored, waiting for its outputs),
    then DONE (its reply ready, sent when every earlier one of the session is)."""

    __slots__ = ("barrier", "job", "needed", "order", "outcomes", "reply", "state", "then")

    def __init__(self, job: Job) -> None:
        self.job = job
        self.state = "NEW"
        self.order = False  # a new order in flight: later new orders may pass it
        self.reply: dict[str, Any] | None = None
        self.then: Any = None
        self.barrier: int | None = None  # reads: OUT_ALL's end when it arrived (None: asking)
        self.outcomes: list[dict[str, Any]] = []
        self.needed = 0


class ClusterVenue(Venue):
    not_served = NOT_ON_A_CLUSTER

    def __init__(self, nc: Client, entry: OrderEntry, shards: list[str],
                 config: GatewayConfig) -> None:
        engine = Engine()
        super().__init__(engine, None, KeyStore(engine.keys), config)
        self.nc = nc
        self.js = nc.jetstream()
        self.entry = entry
        self.shards = sorted(shards)
        self.position = MergedPosition(self.shards)
        self.shard_at = {index: shard for shard, index in self.position.index.items()}
        self.exec_interest = None  # every account's reports: any of them may resume here
        self.lines: dict[Any, deque[Pending]] = {}  # per session, in arrival order
        self.waiting: dict[tuple[str, int], list[Pending]] = {}
        self.origins: Counter[str] = Counter()  # of this gateway's commands in flight
        self.early: OrderedDict[tuple[str, int], dict[str, Any]] = OrderedDict()
        self.readers: list[Pending] = []  # reads waiting for their barrier
        self.trades: dict[str, deque[TradeRow]] = {}  # symbol -> its latest trades
        self.follower = Follower(self.js, self.position, self.fold_message, self.fold_done)

    # -- taking jobs (ops call these as they call the single-process venue's) ----------------

    async def submit(self, job: Job) -> None:
        if not self.offer(job):
            raise RequestError(Code.STATUS_UNKNOWN, "the venue is stopped")

    def offer(self, job: Job) -> bool:
        if self.failed is not None:
            return False
        owner = owner_of(job.session)
        if owner is not None:
            owner.pending += 1
        pending = Pending(job)
        self.lines.setdefault(job.session, deque()).append(pending)
        if job.query:
            asyncio.get_running_loop().create_task(self._set_barrier(pending))
        self._advance(job.session)
        return True

    async def _set_barrier(self, pending: Pending) -> None:
        try:
            pending.barrier = (await self.js.stream_info(MERGED)).state.last_seq
        except Exception:  # noqa: BLE001 - server away: what this gateway has is the best known
            pending.barrier = self.position.merged_seq
        self.readers.append(pending)
        self._release_readers()

    def _release_readers(self) -> None:
        ready = [p for p in self.readers if p.barrier <= self.position.merged_seq]  # type: ignore[operator]
        if ready:
            self.readers = [p for p in self.readers if p not in ready]
            for pending in ready:
                self._advance(pending.job.session)

    def _advance(self, target: Any) -> None:
        """Start what may start in the session's line, then send the replies at its head."""
        line = self.lines.get(target)
        while line:
            done_before, orders_before = True, True
            for pending in line:
                if pending.state == "NEW" and not self._start(pending, done_before,
                                                              orders_before):
                    break
                done_before = done_before and pending.state == "DONE"
                orders_before = orders_before and (pending.state == "DONE" or pending.order)
                if not orders_before:
                    break
            if line[0].state != "DONE":
                return
            while line and line[0].state == "DONE":
                self._answer(line.popleft())
        self.lines.pop(target, None)

    def _start(self, pending: Pending, done_before: bool, orders_before: bool) -> bool:
        """Evaluate a NEW request if its turn has come; False if it must wait."""
        job = pending.job
        if job.query:
            if not done_before or pending.barrier is None \
                    or pending.barrier > self.position.merged_seq:
                return False
            self._flush_market()  # a snapshot continues exactly from the deltas sent
            pending.reply, pending.then = self._evaluate(job)
            pending.state = "DONE"
            return True
        if not done_before:  # only a new order may pass orders in flight
            if not (orders_before and callable(job.work)):
                return False
            try:
                work = job.work(self)
            except RequestError:
                return False
            if type(work) is not SubmitOrder:
                return False
            pending.order = True
            self._send(pending, work)
            return True
        try:
            work = job.work(self) if callable(job.work) else job.work
        except RequestError as exc:
            return self._done(pending, protocol.error(job.request_id, exc.code, exc.msg))
        if isinstance(work, dict):
            return self._done(pending, protocol.ok(job.request_id, work))
        pending.order = type(work) is SubmitOrder
        self._send(pending, work)
        return True

    def _done(self, pending: Pending, reply: dict[str, Any]) -> bool:
        pending.reply, pending.state = reply, "DONE"
        return True

    def _answer(self, pending: Pending) -> None:
        target = pending.job.session
        if target is not None and pending.reply is not None:
            target.send(pending.reply)
        owner = owner_of(target)
        if owner is not None:
            owner.pending -= 1
            owner.closed_if_answered()
        if pending.then is not None:
            pending.then()

    # -- storing commands in IN --------------------------------------------------------------

    def _send(self, pending: Pending, command: Any) -> None:
        try:
            routes = shard_commands(command, self.shard_at, self.shards)
        except RequestError as exc:
            self._done(pending, protocol.error(pending.job.request_id, exc.code, exc.msg))
            return
        pending.state, pending.needed = "SENT", len(routes)
        self.origins[pending.job.origin] += 1
        msg_id = order_id(command.account, command.cl_ord_id) \
            if type(command) is SubmitOrder else None
        loop = asyncio.get_running_loop()
        for shard, routed in routes:
            loop.create_task(self._store(pending, shard, routed, msg_id))

    async def _store(self, pending: Pending, shard: str | None, command: Any,
                     msg_id: str | None) -> None:
        job = pending.job
        try:
            if shard is None:  # by its symbol (the route map is read again on a miss)
                shard = await self.entry.shard_of(command.symbol)
            receipt = await self.entry.publish(shard, encode(command), msg_id, job.origin)
        except UnroutableCommand as exc:
            self._settle(pending, protocol.error(job.request_id, Code.BAD_REQUEST, str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - not stored, or not known to be: say so
            self._settle(pending, protocol.error(job.request_id, Code.STATUS_UNKNOWN,
                                                 f"not acknowledged by the cluster: {exc!r}"))
            return
        key = (shard, receipt.in_seq)
        if receipt.duplicate:
            pending.outcomes.append({"duplicate": command})
        if self.position.folded[shard] >= receipt.in_seq:  # folded already (a resend)
            early = self.early.pop(key, None)
            pending.outcomes.append(early if early is not None else {"late": command})
            self._output_arrived(pending)
        else:
            self.waiting.setdefault(key, []).append(pending)

    def _output_arrived(self, pending: Pending) -> None:
        if len([o for o in pending.outcomes if "duplicate" not in o]) < pending.needed:
            return
        self._settle(pending, self._combine(pending))

    def _settle(self, pending: Pending, reply: dict[str, Any]) -> None:
        if pending.state == "DONE":
            return
        self.origins[pending.job.origin] -= 1
        if not self.origins[pending.job.origin]:
            del self.origins[pending.job.origin]
        self._done(pending, reply)
        self._advance(pending.job.session)

    def _combine(self, pending: Pending) -> dict[str, Any]:
        """The reply from the outputs' answers: a duplicate is the order's status now; a mass
        cancel counts every shard's; anything else sent to every shard answers as the first."""
        request_id = pending.job.request_id
        duplicate = next((o["duplicate"] for o in pending.outcomes if "duplicate" in o), None)
        if duplicate is not None:
            return self._status_now(request_id, duplicate, True)
        answers = [o for o in pending.outcomes if "duplicate" not in o]
        late = next((o["late"] for o in answers if "late" in o), None)
        if late is not None:
            return self._status_now(request_id, late, False)
        if len(answers) > 1 and all(a.get("ok") and "count" in a["result"] for a in answers):
            return protocol.ok(request_id, {"count": sum(a["result"]["count"] for a in answers)})
        return {**answers[0], "id": request_id}

    def _status_now(self, request_id: str | None, command: Any,
                    duplicate: bool) -> dict[str, Any]:
        """An order's status from the tracker (a duplicate, or an answer no longer kept)."""
        if type(command) is not SubmitOrder:
            return protocol.error(request_id, Code.STATUS_UNKNOWN,
                                  "stored; its outcome is in the execution reports")
        record = self.tracker.find(command.account, command.cl_ord_id)  # type: ignore[arg-type]
        if record is None:
            return protocol.error(request_id, Code.STATUS_UNKNOWN, "stored, not yet seen")
        if record.reject_reason is not None:
            return protocol.error(request_id, record.reject_reason.name,
                                  "duplicate cl_ord_id: that order was rejected")
        view = self.tracker.view(record)
        if duplicate:
            view["duplicate"] = True
        return protocol.ok(request_id, view)

    # -- folding OUT_ALL ---------------------------------------------------------------------

    def fold_message(self, msg: Msg) -> None:
        """Fold one OUT_ALL message: the tracker, reports and market data, the reference
        engine, and the answers of requests waiting for it. O(events)."""
        folded = self.position.take(msg.metadata.sequence.stream, msg.headers,
                                    msg.data)
        if folded is None:
            return
        reports: list[tuple[str, dict[str, Any]]] = []
        if folded.command is not None:
            self._reference(folded)
            self.fold(folded.command, folded.events, reports)
        key = (folded.shard, folded.out_seq)
        waiters = self.waiting.pop(key, None)
        if waiters or folded.origin in self.origins:
            answer = self._answer_of(folded)
            for pending in waiters or ():
                pending.outcomes.append(answer)
                self._output_arrived(pending)
            if not waiters:
                self.early[key] = answer
                if len(self.early) > EARLY_KEPT:
                    self.early.popitem(last=False)
        self._keep_trades(folded.events)
        self._send_reports(reports)

    def _keep_trades(self, events: list[Any]) -> None:
        for event in events:
            if type(event) is TradeExecuted:
                kept = self.trades.get(event.symbol)
                if kept is None:
                    kept = self.trades[event.symbol] = deque(maxlen=TRADES_KEPT)
                buy = event.aggressor_side == Side.BUY
                kept.append(TradeRow(
                    event.trade_id, event.seq, event.ts_us, event.symbol, event.price,
                    event.qty, Side(event.aggressor_side).name,
                    event.taker_account if buy else event.maker_account,
                    event.maker_account if buy else event.taker_account))

    async def trade_rows(self, symbol: str, since_us: int, limit: int, after_seq: int = 0,
                         newest: bool = False) -> list[Any]:
        """The market history ops' trades, from the last `TRADES_KEPT` of each instrument this
        gateway folded (an instrument's trades come from one shard: their seq only grows)."""
        rows = [row for row in self.trades.get(symbol, ())
                if row.ts_us >= since_us and row.seq > after_seq]
        return rows[-limit:] if newest else rows[:limit]

    def fold_done(self) -> None:
        """After a run of messages: market data out, reads whose barrier is passed."""
        self._flush_market()
        self._release_readers()

    def _answer_of(self, folded: Folded) -> dict[str, Any]:
        if folded.command is None:
            return protocol.error(None, Code.BAD_REQUEST, "not a command")
        return outcome(self.tracker, self.engine, None, folded.command, folded.events)

    def _reference(self, folded: Folded) -> None:
        kind = type(folded.command)
        if kind in REFERENCE_FROM_EVERY or (kind in REFERENCE_FROM_FIRST
                                            and folded.shard == self.shards[0]):
            self.engine.apply(folded.command)

    def _send_reports(self, reports: list[tuple[str, dict[str, Any]]]) -> None:
        """Each report to its account's subscribers now, in fold order (a resume's held ones
        wait in its backlog)."""
        subs = self.exec_subs
        watchers = subs.get("*") or ()
        for account, report in reports:
            for session in (*subs.get(account, ()), *watchers):
                if session.exec_backlog is not None:
                    session.exec_backlog.append(report)
                else:
                    session.send(report)

    def _flush_market(self) -> None:
        for channel, symbol, message in self.depth.follow(self.market.flush(),
                                                          self.market.feeds):
            subscribers = self.md_subs.get((channel, symbol))
            if subscribers:
                deliver(subscribers, message, channel, symbol, self.drop_market_data)

    async def missed_reports(self, account: str, after: int, upto: int,
                             upto_seq: int) -> AsyncIterator[dict[str, Any]]:
        """Resumes from further back than the kept reports: re-derived from OUT_ALL."""
        async for report in replay_reports(self.js, self.shards, account, after, upto):
            yield report

    def fail(self, exc: BaseException) -> None:
        """Nothing more can be trusted (a gap in OUT_ALL): answer what waits, close all."""
        log.error("cluster gateway stopped: %r", exc)
        self.failed = exc
        unanswered = [p.job for line in self.lines.values() for p in line]
        self.lines.clear()
        self._fail_all(unanswered)
        self.stopped.set()

    # -- following OUT_ALL (follow.py reads it) --------------------------------------------

    async def catch_up(self) -> None:
        """Fold OUT_ALL up to where it ends now (a gateway starts serving only after this)."""
        await self.follower.catch_up()

    async def run(self) -> None:
        """Fold OUT_ALL as it grows, until cancelled; a gap in it stops the venue."""
        try:
            await self.follower.follow(None)
        except GapInMerged as exc:
            self.fail(exc)
