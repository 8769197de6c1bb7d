"""Per-host politeness for the checker, without letting one busy host stall the whole batch.

`HostLimiter` enforces the rule on every request (hop): at most `per_host` in flight and at most `per_window`
starts per sliding `window` seconds for one host name. `Scheduler` decides which target a free worker takes
next: targets whose host already has `per_host` checks running wait in a bounded side queue while other hosts
go ahead, so a batch with 5,000 URLs on one site does not hold up the 50 other sites behind it.
"""

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class _Host:
    semaphore: asyncio.Semaphore
    users: int = 0
    starts: deque = field(default_factory=deque)


class HostLimiter:
    """Concurrency and start-rate limits per host name; memory holds only hosts used in the last window.

    `acquire`/`release` rather than a context manager: this sits on the hot path of every request.
    """

    def __init__(self, per_host: int, per_window: int, window: float = 60.0) -> None:
        self.per_host = per_host
        self.per_window = per_window
        self.window = window
        self._hosts: dict[str, _Host] = {}
        self._releases = 0

    def would_wait(self, host: str) -> bool:
        """True when `acquire(host)` cannot start right now (slot or rate budget used up)."""
        entry = self._hosts.get(host)
        if entry is None:
            return False
        self._prune(entry, time.monotonic())
        return entry.semaphore.locked() or len(entry.starts) >= self.per_window

    async def acquire(self, host: str) -> None:
        """Take one of `host`'s slots, waiting for a free slot and for the start-rate window."""
        entry = self._hosts.get(host)
        if entry is None:
            entry = self._hosts[host] = _Host(asyncio.Semaphore(self.per_host))
        entry.users += 1
        try:
            await entry.semaphore.acquire()
        except BaseException:
            entry.users -= 1
            raise
        try:
            await self._pace(entry)
        except BaseException:
            self.release(host)
            raise

    def release(self, host: str) -> None:
        """Give back a slot taken by `acquire`."""
        entry = self._hosts[host]
        entry.semaphore.release()
        entry.users -= 1
        self._releases += 1
        if self._releases % 4096 == 0:
            self._forget_idle()

    def _prune(self, entry: _Host, now: float) -> None:
        starts = entry.starts
        while starts and now - starts[0] >= self.window:
            starts.popleft()

    async def _pace(self, entry: _Host) -> None:
        """Sliding window: wait until fewer than `per_window` starts happened in the last `window` seconds."""
        while True:
            now = time.monotonic()
            self._prune(entry, now)
            if len(entry.starts) < self.per_window:
                entry.starts.append(now)
                return
            await asyncio.sleep(entry.starts[0] + self.window - now)

    def _forget_idle(self) -> None:
        """Drop hosts nobody waits for and without starts in the window: memory follows recent hosts only."""
        horizon = time.monotonic() - self.window
        idle = [h for h, e in self._hosts.items() if not e.users and (not e.starts or e.starts[-1] < horizon)]
        for host in idle:
            del self._hosts[host]


class Scheduler(Generic[T]):
    """Hand items to workers, holding back items of hosts that already have `per_host` items being worked on.

    Held-back items live in per-host queues capped at `max_parked` in total; when the cap is hit the next item
    goes out anyway (its worker then waits in HostLimiter), so memory stays O(max_parked) for any input size.
    Workers must call `done(host)` for every item they received.
    """

    def __init__(
        self, items: Iterator[T], host_of: Callable[[T], str], *, per_host: int, max_parked: int
    ) -> None:
        self._items = items
        self._host_of = host_of
        self._per_host = per_host
        self._max_parked = max_parked
        self._claimed: dict[str, int] = {}
        self._parked: dict[str, deque[T]] = {}
        self._parked_count = 0
        self._ready: deque[T] = deque()
        self._changed = asyncio.Event()

    async def next(self) -> T | None:
        """The next item to work on, or None when everything has been handed out."""
        while True:
            if self._ready:
                return self._ready.popleft()
            item = self._pull()
            if item is not None:
                return item
            if not self._parked_count:
                return None
            self._changed.clear()
            await self._changed.wait()

    def done(self, host: str) -> None:
        """A worker finished an item of `host`: release the claim or pass it to the host's next parked one."""
        queue = self._parked.get(host)
        if queue and self._claimed[host] <= self._per_host:
            self._ready.append(queue.popleft())
            self._parked_count -= 1
            if not queue:
                del self._parked[host]
            self._changed.set()
            return
        remaining = self._claimed[host] - 1
        if remaining:
            self._claimed[host] = remaining
        else:
            del self._claimed[host]

    def _pull(self) -> T | None:
        """Take input items until one may start now, parking the others; None when the input is exhausted."""
        for item in self._items:
            host = self._host_of(item)
            claimed = self._claimed.get(host, 0)
            if claimed < self._per_host or self._parked_count >= self._max_parked:
                self._claimed[host] = claimed + 1
                return item
            self._parked.setdefault(host, deque()).append(item)
            self._parked_count += 1
        return None
