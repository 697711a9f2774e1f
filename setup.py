"""Build of the compiled engine core (the rest of the project is plain setuptools metadata in
pyproject.toml). `pip install -e .` (what `make install` runs) compiles exchange/engine/*.pyx (the
engine core, compiled.SOURCES) with Cython and the C compiler; after editing one, build again (`make
install` does when a source is newer than its build; the package refuses to import a stale
one)."""

import importlib.util
import json
import os
import shutil
import sys
import sysconfig
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _fail(missing: str) -> None:
    sys.exit(f"exchange: cannot build the compiled engine core: {missing}")


try:
    from Cython.Build import cythonize
except ImportError:
    _fail("Cython is missing (pip install 'cython>=3.0'; pip does this from build-system.requires)")

_compiler = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]
if shutil.which(_compiler) is None:
    _fail(f"no C compiler: {_compiler!r} is not on PATH (install gcc, e.g. apt-get install gcc)")
if not (Path(sysconfig.get_paths()["include"]) / "Python.h").exists():
    _fail(f"the Python headers are missing (Python.h under {sysconfig.get_paths()['include']}; "
          "install the python3-dev package)")

# The compiled core's own modules, and the field checks, instruments and operator commands
# (validation.py, instrument.py, venue.py: plain Python, compiled as they are, so the rules stay
# in readable files and run at C speed: the checks before any typed code, and a bulk listing's
# per-row work).
# The order of compiled.SOURCES: each module's declarations (.pxd) before the modules using them.
SOURCES = [f"exchange/engine/{name}" for name in (
    "order.pyx", "book.pyx", "risk.pyx", "stream.pyx", "changes.pyx", "resting.pyx",
    "matching.pyx", "entry.pyx", "orderblob.pyx", "core.pyx", "validation.py",
    "instrument.py", "venue.py",
    "recordpack.pyx")]  # recordpack: the codec's fast path (codec.py)
_HEADERS = sorted(str(path) for path in Path("exchange/engine/c").glob("*.h"))
extensions = [Extension(source.rsplit(".", 1)[0].replace("/", "."), [source],
                        include_dirs=["exchange/engine"], depends=_HEADERS,
                        extra_compile_args=["-O2"])
               for source in SOURCES]


def _record_sources() -> None:
    """Note what is being built, for the import-time check (exchange/engine/compiled.py)."""
    here = Path(__file__).parent / "exchange" / "engine"
    spec = importlib.util.spec_from_file_location("compiled", here / "compiled.py")
    compiled = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(compiled)  # type: ignore[union-attr]
    hashes = {name: compiled.source_hash(here, name) for name in compiled.SOURCES}
    (here / compiled.RECORD).write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n")


class BuildExt(build_ext):
    """build_ext that records the sources it built, once they built."""

    def run(self) -> None:
        super().run()
        _record_sources()


setup(cmdclass={"build_ext": BuildExt}, ext_modules=cythonize(
    extensions, quiet=True,
    # annotation_typing off: a Python annotation is documentation, never a C type (a typed
    # argument would turn bad input into a TypeError instead of a reject)
    compiler_directives={"language_level": "3", "annotation_typing": False}))
