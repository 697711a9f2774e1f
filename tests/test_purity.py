"""The pure core imports no I/O, clock or randomness (DESIGN rule 1), checked from the source."""

from __future__ import annotations

import ast
from pathlib import Path

import exchange

FORBIDDEN = {"asyncio", "websockets", "aiosqlite", "sqlite3", "time", "random", "uuid", "os",
             "socket", "datetime", "threading", "subprocess"}
PURE_PACKAGES = ("engine",)


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_pure_modules_import_no_io_clock_or_randomness() -> None:
    package = Path(exchange.__file__).parent
    checked = 0
    for name in PURE_PACKAGES:
        for path in sorted((package / name).rglob("*.py")):
            assert not imported_roots(path) & FORBIDDEN, f"{path} imports {imported_roots(path) & FORBIDDEN}"
            checked += 1
    assert checked >= 5


def test_the_check_itself_catches_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import time\nfrom asyncio import sleep\n")
    assert imported_roots(bad) >= {"time", "asyncio"}
