"""Which engine modules are compiled (setup.py builds them), and a check, at import, that each
build is of the source beside it: an in-place build left over from before an edit would shadow
the edited source and run old rules silently. setup.py records the SHA-256 of each source (and
the declarations and headers beside it) in `compiled.sha256` as it builds; this compares. Reads the
sources once, at import; the engine itself does no I/O."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

# the compiled sources; each is built against every declaration file (.pxd) beside it and the C
# headers in c/, so a change to a source, a declaration or a header needs a rebuild
SOURCES: tuple[str, ...] = (
    "order.pyx", "book.pyx", "risk.pyx", "stream.pyx", "changes.pyx", "resting.pyx",
    "matching.pyx", "entry.pyx", "orderblob.pyx", "core.pyx", "validation.py", "instrument.py",
    "venue.py", "recordpack.pyx",
)
RECORD = "compiled.sha256"
_HERE = Path(__file__).parent


def source_hash(folder: Path, name: str) -> str:
    """SHA-256 of a source and of every declaration file and C header beside it, in a fixed
    order."""
    digest = hashlib.sha256()
    declarations = () if name.endswith(".py") else sorted(
        str(path.relative_to(folder)) for pattern in ("*.pxd", "c/*.h")
        for path in folder.glob(pattern))
    for part in (name, *declarations):
        digest.update(part.encode() + b"\0" + (folder / part).read_bytes() + b"\0")
    return digest.hexdigest()


def check_builds() -> None:
    """Raise ImportError, saying how to fix it, if a compiled module is missing or was built
    from other source than is here. Without sources or a record beside them (an installed
    wheel), there is nothing to compare."""
    record_file = _HERE / RECORD
    recorded = json.loads(record_file.read_text()) if record_file.exists() else None
    for name in SOURCES:
        if not (_HERE / name).exists():
            continue
        stem = name.rsplit(".", 1)[0]
        built = any(_HERE.glob(f"{stem}.*.so")) or any(_HERE.glob(f"{stem}.*.pyd"))
        if not built and name.endswith(".pyx"):
            raise ImportError(f"exchange.engine.{stem} is not built: run `make install` "
                              "(pip install -e .) to compile the engine core")
        if built and recorded is not None and recorded.get(name) != source_hash(_HERE, name):
            raise ImportError(f"exchange.engine.{stem} was built from an older {name}: run "
                              "`make install` (pip install -e .) to rebuild the engine core")
