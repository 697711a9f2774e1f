"""`exchange admin instruments phase|schedule|volatility`: an instrument's trading phase now, its
daily schedule (UTC times of day), driven by the venue's clock (exchange/gateway/schedule.py),
and its volatility interruptions.

    exchange admin instruments phase WHEAT-M2-CTA-2703 pre-open
    exchange admin instruments schedule WHEAT-M2-CTA-2703 --pre-open 07:30 --open 08:00 \\
        --closing-auction 16:25 --close 16:30
    exchange admin instruments schedule WHEAT-M2-CTA-2703            # show it
    exchange admin instruments schedule WHEAT-M2-CTA-2703 --clear
    exchange admin instruments volatility WHEAT-M2-CTA-2703 --dynamic-ticks 20 \
        --static-ticks 80 --call-ms 120000
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from exchange.cli.results import done, table
from exchange.client import Client

PHASES = ("pre-open", "open", "closing-auction", "close", "halt")
PHASE_HELP = ("pre-open: the opening call (orders and cancels, no trades); open: continuous "
              "trading (from a call: the uncross first); closing-auction: the closing call; "
              "close: closed (from a call: the uncross first; DAY orders expire); halt: "
              "cancels only")
DAY_FLAGS = (("pre_open", "the opening call starts"),
             ("open", "the opening uncross, then continuous trading"),
             ("closing_auction", "the closing call starts"),
             ("close", "the closing uncross, then closed"))


def add_commands(sub: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    """The `phase` and `schedule` commands under `instruments`."""
    p = command(sub, "phase", _set_phase, "set an instrument's trading phase now")
    p.add_argument("symbol")
    p.add_argument("phase", choices=PHASES, help=PHASE_HELP)
    p = command(sub, "schedule", _schedule,
                "set, show (no flags) or --clear an instrument's daily schedule, in UTC")
    p.add_argument("symbol")
    for name, help in DAY_FLAGS:
        p.add_argument("--" + name.replace("_", "-"), dest=name, metavar="HH:MM[:SS]",
                       help=f"{help} at this UTC time each day")
    p.add_argument("--clear", action="store_true", help="remove the schedule")
    p = command(sub, "volatility", _volatility,
                "volatility interruptions: a trade beyond a band starts a short call instead")
    p.add_argument("symbol")
    p.add_argument("--dynamic-ticks", required=True, metavar="N|none",
                   help="ticks either side of the last trade price")
    p.add_argument("--static-ticks", required=True, metavar="N|none",
                   help="ticks either side of the reference price")
    p.add_argument("--call-ms", default="60000", help="the call's length (default 60000)")


async def _set_phase(client: Client, args: argparse.Namespace) -> Any:
    result = await client.request("set_phase", sym=args.symbol, phase=args.phase)
    return result, done(f"{args.symbol}: {args.phase} ({result['state']})")


async def _schedule(client: Client, args: argparse.Namespace) -> Any:
    times = {name: getattr(args, name) for name, _ in DAY_FLAGS
             if getattr(args, name) is not None}
    if not times and not args.clear:
        result = await client.request("show_schedule", sym=args.symbol)
        return result, _render_schedule
    result = await client.request("set_schedule", sym=args.symbol, clear=args.clear or None,
                                  **times)
    if args.clear:
        return result, done(f"{args.symbol}: schedule cleared")
    return result, _render_schedule


async def _volatility(client: Client, args: argparse.Namespace) -> Any:
    result = await client.request("set_volatility_bands", sym=args.symbol,
                                  dynamic_ticks=args.dynamic_ticks,
                                  static_ticks=args.static_ticks, call_ms=args.call_ms)
    return result, done(f"{args.symbol}: volatility bands set")


def _render_schedule(result: Any) -> None:
    print(f"{result['sym']} (UTC)" + (f", now {result['state']}" if "state" in result else ""))
    table(result["schedule"], (("AT", "at"), ("STATE", "state")))
