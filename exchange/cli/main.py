"""The `exchange` console script: one entry point, one subcommand per module.

Each subcommand module has `add_parser(subparsers)`, which registers its parser and sets
`handler(args) -> int`. Exit codes: 0 success, 1 a failure the user can act on (said on stderr,
no traceback), 2 bad usage (argparse).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

SUBCOMMANDS = ("serve", "audit", "admin", "trade", "cluster")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="exchange", description="A real-time exchange for standardized commodity contracts.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in SUBCOMMANDS:
        importlib.import_module(f"exchange.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 130
    except CliError as exc:
        print(f"exchange: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return _reader_gone()


def _reader_gone() -> int:
    """Our stdout's reader left (`exchange admin stats | head`): that is not an error. Point
    stdout at /dev/null so that the interpreter's last flush does not fail either."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0


class CliError(Exception):
    """A failure to report to the user in one line, without a traceback."""


if __name__ == "__main__":
    sys.exit(main())
