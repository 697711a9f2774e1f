"""Which engine modules are compiled (setup.py builds them), and a check, at import, that each
build is current: an in-place build left over from before an edit would shadow the edited
source, and run old rules silently. Reads file times once, at import; the engine itself does
no I/O."""

from __future__ import annotations

from pathlib import Path

# source -> the declarations (.pxd) it cimports; a change to either needs a rebuild
SOURCES = {
    "book.pyx": ("book.pxd", "risk.pxd"),
    "risk.pyx": ("risk.pxd",),
    "core.pyx": ("book.pxd", "risk.pxd"),
    "validation.py": (),
}
_HERE = Path(__file__).parent


def check_builds() -> None:
    """Raise ImportError, saying how to fix it, if a compiled module is missing or older than
    its source. Without sources beside it (an installed wheel), there is nothing to compare."""
    for name, headers in SOURCES.items():
        source = _HERE / name
        if not source.exists():
            continue
        stem = name.rsplit(".", 1)[0]
        built = sorted(_HERE.glob(f"{stem}.*.so")) + sorted(_HERE.glob(f"{stem}.*.pyd"))
        if not built:
            if name.endswith(".py"):
                continue  # runs as plain Python: slower, never wrong
            raise ImportError(f"exchange.engine.{stem} is not built: run `make install` "
                              "(pip install -e .) to compile the engine core")
        newest = max(p.stat().st_mtime for p in (source, *map(_HERE.joinpath, headers)))
        if any(so.stat().st_mtime < newest for so in built):
            raise ImportError(f"exchange.engine.{stem} was built before {name} last changed: "
                              "run `make install` (pip install -e .) to rebuild the engine core")
