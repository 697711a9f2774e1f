"""Execution reports carry a per-account exec_seq; a client resumes what it missed: from the
venue's kept reports when they reach back far enough, else from the ledger, also across a
venue restart."""

from __future__ import annotations

from pathlib import Path

from tests.gateway.conftest import WHEAT, eventually, next_report, open_venue, with_config


async def test_a_reconnecting_client_receives_what_it_missed_then_live_reports(
        tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        maker = await venue.client("AGRO-1")
        await maker.subscribe_exec()
        for n in range(3):
            await maker.new_order(WHEAT, "SELL", "2", f"21{n}.00", cl_ord_id=f"m{n}")
        seen = [await next_report(maker) for _ in range(3)]
        last = seen[-1]["exec_seq"]
        await maker.close()
        taker = await venue.client("MILL-1")
        await taker.new_order(WHEAT, "BUY", "6", "212.00", cl_ord_id="sweep")
        maker = await venue.client("AGRO-1")
        answer = await maker.subscribe_exec(resume_from_exec_seq=last)
        assert answer["exec_seq"] == last + 3
        missed = [await next_report(maker) for _ in range(3)]
        assert [r["exec_seq"] for r in missed] == [last + 1, last + 2, last + 3]
        assert all(r["exec_type"] == "TRADE" for r in missed)
        await maker.new_order(WHEAT, "SELL", "1", "215.00", cl_ord_id="live")
        assert (await next_report(maker))["exec_seq"] == last + 4


async def test_exec_seq_and_reports_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    async with open_venue(path) as venue:
        trader = await venue.client("AGRO-1")
        await trader.subscribe_exec()
        await trader.new_order(WHEAT, "BUY", "2", "209.00", cl_ord_id="a")
        await trader.new_order(WHEAT, "BUY", "2", "209.25", cl_ord_id="b")
        before = [await next_report(trader) for _ in range(2)]
    async with open_venue(path) as venue:
        trader = await venue.client("AGRO-1")
        await trader.subscribe_exec(resume_from_exec_seq=0)
        again = [await next_report(trader) for _ in range(2)]
        assert again == before
        await trader.cancel_order(orig_cl_ord_id="a")
        report = await next_report(trader)
        assert (report["exec_seq"], report["exec_type"]) == (3, "CANCELED")
        resent = await trader.new_order(WHEAT, "BUY", "2", "209.25", cl_ord_id="b")
        assert resent["duplicate"]
        await eventually(lambda: trader.exec_reports.empty())


async def test_a_resume_within_the_kept_window_and_one_past_it_give_the_same_reports(
        tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db", with_config(resume_window=3)) as venue:
        gateway = venue.server.venue
        assert gateway is not None
        replays = []
        from_ledger = gateway.missed_reports

        def counted(*args: object) -> object:
            replays.append(args)
            return from_ledger(*args)  # type: ignore[arg-type]
        gateway.missed_reports = counted  # type: ignore[method-assign]
        trader = await venue.client("AGRO-1")
        await trader.subscribe_exec()
        for n in range(5):
            await trader.new_order(WHEAT, "BUY", "1", f"20{n}.00", cl_ord_id=f"k{n}")
        live = [await next_report(trader) for _ in range(5)]
        assert [r["exec_seq"] for r in live] == [1, 2, 3, 4, 5]
        recent = await venue.client("AGRO-1")
        await recent.subscribe_exec(resume_from_exec_seq=3)  # 4 and 5: kept in memory
        assert [await next_report(recent) for _ in range(2)] == live[3:]
        assert replays == []
        old = await venue.client("AGRO-1")
        await old.subscribe_exec(resume_from_exec_seq=0)  # 1 and 2 are no longer kept
        assert [await next_report(old) for _ in range(5)] == live
        assert len(replays) == 1
        await trader.new_order(WHEAT, "BUY", "1", "190.00", cl_ord_id="after")
        for client in (trader, recent, old):
            assert (await next_report(client))["exec_seq"] == 6


async def test_a_resume_after_a_restart_replays_from_the_newest_snapshot_that_reaches_back(
        tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    config = with_config(snapshot_every=20, order_rate=100_000.0, order_burst=100_000.0)
    async with open_venue(path, config) as venue:
        trader = await venue.client("AGRO-1")
        await trader.subscribe_exec()
        for n in range(30):
            await trader.new_order(WHEAT, "BUY", "1", f"{150 + n}.00", cl_ord_id=f"k{n}")
        live = [await next_report(trader) for _ in range(30)]
    async with open_venue(path, config) as venue:
        gateway = venue.server.venue
        assert gateway is not None
        starts = []
        entries = gateway.ledger.entries

        def counted(start: int, *rest: object) -> object:
            starts.append(start)
            return entries(start, *rest)  # type: ignore[arg-type]
        gateway.ledger.entries = counted  # type: ignore[method-assign]
        late, early = await venue.client("AGRO-1"), await venue.client("AGRO-1")
        await late.subscribe_exec(resume_from_exec_seq=25)
        assert [await next_report(late) for _ in range(5)] == live[25:]
        await early.subscribe_exec(resume_from_exec_seq=0)
        assert [await next_report(early) for _ in range(30)] == live
        # each replay began at a snapshot taken before its first missed report: the late
        # one after most of the orders, the early one before any of them
        assert starts[0] > starts[1] > 1
