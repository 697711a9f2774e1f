"""`exchange admin instruments import`: a CSV file streamed to the venue in chunks as it is read;
the venue checks every row as it arrives and the last chunk commits them all as one engine
command, so a bad line anywhere (named by its line in the file) imports nothing.
`check_file` runs the same checks offline."""

from __future__ import annotations

import argparse
import asyncio
import re
import secrets
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import msgpack

from exchange.cli.progress import Progress
from exchange.cli.results import REFUSED, Failure, done
from exchange.client import Client
from exchange.engine import Engine, ImportInstruments
from exchange.engine.events import CommandRejected
from exchange.gateway.reference import RowError, check_rows, engine_row, read_csv
from exchange.gateway.spec_faults import rejected_detail

CHUNK_BYTES = 48_000  # under the gateway's 64 KiB frame limit, with room for the envelope


def check_file(path: Path) -> int:
    """The number of rows in the file, all checked as the venue will check them: each row's
    columns as the venue converts them, then the whole import through a fresh engine, the same
    command the venue's commit runs (only symbols the venue lists already are not known here)."""
    progress = Progress(f"check {path}")
    try:
        checked = check_rows(_counted(read_rows(path), progress))
    except RowError as exc:
        raise Failure(REFUSED, verdict(path, str(exc), exc.code, [])) from None
    command = ImportInstruments(0, [engine_row(row) for _, row in checked])
    events = Engine().apply(command)
    progress.done()
    for event in events:
        if type(event) is CommandRejected:
            lines = [line for line, _ in checked]
            raise Failure(REFUSED, verdict(path, rejected_detail(event, command),
                                           event.reason.name, lines))
    return len(checked)


def _counted(rows: Iterator[tuple[int, list[str | None]]], progress: Progress
             ) -> Iterator[tuple[int, list[str | None]]]:
    """The rows, saying how many have been read so far (a long file's check)."""
    for number, numbered_row in enumerate(rows, 1):
        progress(number)
        yield numbered_row


def verdict(path: Path, msg: str, code: str, lines: list[int]) -> str:
    """How a refused import is reported, online or by `--check` alike: the venue's message
    with its "row N" as the file's "line L", and its code."""
    where = _name_line(msg, lines).removeprefix("import instruments: ")
    return f"{path} {where} ({code}); nothing imported"


def read_rows(path: Path) -> Iterator[tuple[int, list[str | None]]]:
    """(line, wire row) for each data line of the CSV file, as it is read; Failure for an
    unreadable file or a malformed line."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            yield from read_csv(handle)
    except OSError as exc:
        raise Failure(REFUSED, f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise Failure(REFUSED, f"{path}: not UTF-8 text; nothing imported") from None
    except RowError as exc:
        raise Failure(REFUSED, f"{path} {exc}; nothing imported") from None


def chunks(numbered: Iterable[tuple[int, list[str | None]]], limit: int = CHUNK_BYTES
           ) -> Iterator[tuple[list[int], list[list[str | None]]]]:
    """(lines, rows) groups of numbered rows, taken as they come, each group's MessagePack under
    `limit` bytes: sized from the first rows, and halved while one is too big (C-speed packing,
    no per-row sums)."""
    numbered = iter(numbered)
    block = list(islice(numbered, 100))
    if not block:
        return
    per_row = max(1, len(msgpack.packb([row for _, row in block])) // len(block))
    size = max(1, limit // (2 * per_row))  # room for rows twice the sample's size
    block += islice(numbered, max(0, size - len(block)))
    while block:
        pending = [block]
        while pending:
            group = pending.pop(0)
            rows = [row for _, row in group]
            if len(group) > 1 and len(msgpack.packb(rows)) > limit:
                half = len(group) // 2
                pending[:0] = [group[:half], group[half:]]
            else:
                yield [line for line, _ in group], rows
        block = list(islice(numbered, size))


async def import_file(client: Client, args: argparse.Namespace) -> Any:
    """Send the file's rows in chunks as they are read; the last one commits them."""
    import_id = secrets.token_hex(8)
    lines: list[int] = []  # the file's line of each row sent, to name the venue's "row N"
    pending: list[asyncio.Future] = []
    answered = 0
    groups = chunks(read_rows(args.file))
    group: tuple[list[int], list[Any]] | None = next(groups, ([], []))
    progress = Progress(f"import {args.file}")
    while group is not None:
        progress(len(lines))
        following = next(groups, None)
        lines += group[0]
        last = {"total": str(len(lines))} if following is None else {}
        pending.append(await client.send_request("import_instruments", {
            "import_id": import_id, "rows": group[1], "more": following is not None, **last}))
        while answered < len(pending) and pending[answered].done():  # stop at a refusal
            _refused(await pending[answered], args.file, lines)
            answered += 1
        group = following
    for future in pending[answered:]:  # the first failure is the cause; later ones echo it
        _refused(await future, args.file, lines)
    result = (await pending[-1])["result"]
    progress.done()
    return result, done(f"imported {result['imported']} instruments from {args.file}")


def _refused(response: dict[str, Any], path: Path, lines: list[int]) -> None:
    if not response["ok"]:
        error = response["error"]
        raise Failure(REFUSED, verdict(path, error["msg"], error["code"], lines))


def _name_line(message: str, lines: list[int]) -> str:
    """The venue's "row N" (1-based in the import) as the file's "line L", wherever it says it."""
    def line(match: re.Match[str]) -> str:
        number = int(match.group(1))
        return f"line {lines[number - 1]}" if 0 < number <= len(lines) else match.group(0)
    return re.sub(r"row (\d+)", line, message)
