"""The ledger's writer thread: the one thread that touches the file's connection.

Calls run one at a time, in the order they were made; each is one hop from the event loop
(`call` returns an asyncio future, resolved from the thread with one `call_soon_threadsafe`).
When no call is waiting, the thread does its idle work (the ledger's projections): so the
background writes run between appends instead of in front of them, and cost the event loop
nothing. (It replaces a ThreadPoolExecutor plus an asyncio task, a lock and a second executor
hop per batch for the projection that followed each append.)
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_STOP = None


class WriterThread:
    """One thread running calls in order; `idle()` when none waits (it returns whether it did
    any work, so that the thread looks for calls again before idling once more)."""

    def __init__(self, name: str, idle: Callable[[], bool] | None = None) -> None:
        self._calls: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.idle = idle
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def call(self, function: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """`function(*args)` on the thread after the calls before it; its result or error."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._calls.put((loop, future, function, args))
        return future

    def stop(self) -> None:
        """Let the calls made so far run, then end the thread (waits for it)."""
        self._calls.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        calls = self._calls
        while True:
            try:
                job = calls.get_nowait()
            except queue.Empty:
                idle = self.idle
                if idle is not None and idle():
                    continue
                job = calls.get()
            if job is _STOP:
                return
            loop, future, function, args = job
            try:
                result = function(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                _resolve(loop, future, _fail, exc)
            else:
                _resolve(loop, future, _succeed, result)


def _resolve(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any],
             how: Callable[[asyncio.Future[Any], Any], None], value: Any) -> None:
    try:
        loop.call_soon_threadsafe(how, future, value)
    except RuntimeError:  # the loop is closed: nobody is waiting any more
        pass


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():  # the caller may have been cancelled
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
