"""The engine task's inbox: jobs put by many connections, taken by one task. Pure asyncio."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class JobQueue(Generic[T]):
    """The engine task's inbox. `put` waits while `limit` jobs are waiting (the connection that
    puts waits with it, so a flood backs up into its socket), in line: first come, first served;
    the engine task takes jobs in bulk and sleeps in `wait` until a job arrives or `wake` is
    called. Costs: O(1) per job."""

    def __init__(self, limit: int) -> None:
        self._jobs: deque[T] = deque()
        self._limit = limit
        self._putters: deque[asyncio.Future] = deque()
        self._wake: asyncio.Future | None = None

    def qsize(self) -> int:
        return len(self._jobs)

    def empty(self) -> bool:
        return not self._jobs

    async def put(self, job: T) -> None:
        """Put `job`, first waiting in line while the queue is full (or others wait)."""
        if self._putters or len(self._jobs) >= self._limit:
            putter = asyncio.get_running_loop().create_future()
            self._putters.append(putter)
            try:
                await putter  # `take` wakes the first in line when a job leaves
            except BaseException:
                if putter in self._putters:
                    self._putters.remove(putter)
                elif putter.done() and not putter.cancelled():
                    self._wake_putter()  # it was this one's turn: pass it on
                raise
        self._jobs.append(job)
        self.wake()

    def offer(self, job: T) -> bool:
        """Put `job` if there is room and nobody waits for it (first come, first served);
        False otherwise, without waiting."""
        if self._putters or len(self._jobs) >= self._limit:
            return False
        self._jobs.append(job)
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)
        return True

    def take(self) -> T:
        job = self._jobs.popleft()
        if self._putters and len(self._jobs) < self._limit:
            self._wake_putter()
        return job

    def _wake_putter(self) -> None:
        while self._putters:
            putter = self._putters.popleft()
            if not putter.done():
                putter.set_result(None)
                return

    def take_all(self) -> list[T]:
        jobs = list(self._jobs)
        self._jobs.clear()
        return jobs

    def wake(self, *_: Any) -> None:
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    async def wait(self) -> None:
        """Until a job is put or `wake` is called (at once if a job is waiting)."""
        if self._jobs:
            return
        self._wake = asyncio.get_running_loop().create_future()
        try:
            await self._wake
        finally:
            self._wake = None
