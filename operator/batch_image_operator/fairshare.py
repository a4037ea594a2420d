"""Fair sharing of Azure concurrency between namespaces.

Every pass that calls Azure first takes a slot. With slots free it takes one at once
(a namespace alone may use them all); once they are all taken, waiters queue FIFO in
their own namespace's queue, and each freed slot goes to the next namespace in turn.
So a namespace's 1,000-object burst delays another namespace's first call by about one
freed slot, not by the whole burst: without this, every pass shares one FIFO (the Azure
connection pool's), and a late namespace waits behind all of it.

A slot is for calls in flight: a holder that must wait (for an ARM token: azure/pacing.py)
gives its slot back for the wait (:func:`slot_released`) and queues for one again after.
Otherwise, under ARM's write limit, every slot was held by a pass asleep before its
write, and the reads that confirm pools already created waited for the whole burst.

Shares nest: runner/scheduled.py admits a bounded number of passes (a share of its own)
before any of them reads its object or waits for an Azure slot, and a holder's wait
gives back both slots it holds.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass


@dataclass
class _Hold:
    share: FairShare
    namespace: str
    task: asyncio.Task[object] | None
    held: bool = True
    # The slot of another share it was taken inside (a pass's admission, around its
    # Azure slot): given back and taken again with it.
    outer: _Hold | None = None


# The innermost slot the current task holds, if any (set by FairShare.slot for its body).
_HOLD: contextvars.ContextVar[_Hold | None] = contextvars.ContextVar("fairshare_hold",
                                                                     default=None)


def current_namespace() -> str | None:
    """The namespace of the innermost slot the current task holds (or, in a task started
    inside a slot, the slot it started in); None outside any."""
    hold = _HOLD.get()
    return hold.namespace if hold is not None else None


@contextlib.asynccontextmanager
async def slot_released() -> AsyncIterator[None]:
    """For the body, give back the slots the current task holds (none held: no-op), and
    queue for them again after it, outermost first (the order every holder takes them
    in), each in the namespace's turn like any other waiter."""
    # A task started inside a slot inherits the variable, not the slot (a shared account
    # read awaited by many holders): only the holder itself may give it back, or the
    # holders would wait on a read that waits for their slots.
    task = asyncio.current_task()
    holds = []
    hold = _HOLD.get()
    while hold is not None:
        if hold.held and hold.task is task:
            holds.append(hold)
        hold = hold.outer
    for hold in holds:
        hold.held = False
        hold.share._release(hold.namespace)
    yield  # raised through (cancelled): the slots stay given back, slot() knows it
    for hold in reversed(holds):
        await hold.share._acquire(hold.namespace, returning=True)
        hold.held = True


class FairShare:
    """``slots`` concurrent holders, granted round-robin across waiting namespaces.

    ``slots=None`` disables the gate (every caller passes at once). ``on_waiting`` is
    told (namespace, number waiting) whenever a namespace's queue length changes.
    ``first_at_once``: a namespace holding no slot takes one at once, beyond ``slots``
    if it must (then at most ``slots`` + namespaces are held), and a namespace's last
    holder hands its slot to the namespace's next caller, so a namespace with callers
    always holds one: its callers never wait for another namespace's holders alone.
    """

    def __init__(self, slots: int | None,
                 on_waiting: Callable[[str, int], None] | None = None, *,
                 first_at_once: bool = False) -> None:
        if slots is not None and slots < 1:
            raise ValueError("slots must be at least 1")
        self._slots = slots
        self._free = slots or 0
        self._first_at_once = first_at_once
        self._held: dict[str, int] = {}  # slots held, by namespace
        self._beyond = 0  # slots held beyond ``slots`` (first_at_once)
        self._queues: dict[str, collections.deque[asyncio.Future[None]]] = {}
        # Namespaces with waiters, in the order their next waiter is served.
        self._turn: collections.deque[str] = collections.deque()
        # How many waiters at the head of each namespace's queue are holders coming back
        # from slot_released: they are served first, in the order they came back.
        self._returners: dict[str, int] = {}
        self._on_waiting = on_waiting

    @property
    def free(self) -> int:
        return self._free

    def waiting(self) -> dict[str, int]:
        return {ns: len(q) for ns, q in self._queues.items()}

    @contextlib.asynccontextmanager
    async def slot(self, namespace: str | None, *, nested: bool = True,
                   ahead: bool = False) -> AsyncIterator[None]:
        """Hold one slot for the body; released on any exit, cancellation included.
        ``nested=False``: a slot apart from the others, held through the body whatever
        it waits for (slot_released leaves it), and not the body's namespace for
        current_namespace (tasks started in the body do not inherit it).
        ``ahead``: queued like a holder coming back from a wait, first in its namespace."""
        if self._slots is None:
            yield
            return
        hold = _Hold(self, namespace or "", asyncio.current_task(), outer=_HOLD.get())
        await self._acquire(hold.namespace, returning=ahead)
        if not nested:
            try:
                yield
            finally:
                self._release(hold.namespace)
            return
        token = _HOLD.set(hold)
        try:
            yield
        finally:
            _HOLD.reset(token)
            if hold.held:
                self._release(hold.namespace)

    async def _acquire(self, ns: str, returning: bool = False) -> None:
        """``returning``: a holder coming back from slot_released; it goes first (its
        write was reserved for now), ahead of passes that have not started. A caller
        asking ``ahead`` (a finalizer patch, kube/session.py) is queued the same way,
        so a namespace with no queue then also takes the next turn."""
        if self._free > 0 and not self._turn:
            self._free -= 1
            self._hold(ns)
            return
        if self._first_at_once and not self._held.get(ns):
            self._beyond += 1
            self._hold(ns)
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._queues.get(ns)
        if queue is None:
            queue = self._queues[ns] = collections.deque()
            if returning:
                self._turn.appendleft(ns)
            else:
                self._turn.append(ns)
        if returning:
            queue.insert(self._returners.get(ns, 0), waiter)
            self._returners[ns] = self._returners.get(ns, 0) + 1
        else:
            queue.append(waiter)
        self._report(ns)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # Granted, then cancelled before it could run: hand the slot on.
                self._release(ns)
            else:
                self._forget(ns, waiter)
            raise

    def _forget(self, ns: str, waiter: asyncio.Future[None]) -> None:
        queue = self._queues.get(ns)
        if queue is None or waiter not in queue:
            return
        if queue.index(waiter) < self._returners.get(ns, 0):
            self._uncount_returner(ns)
        queue.remove(waiter)
        if not queue:
            del self._queues[ns]
            self._turn.remove(ns)
        self._report(ns)

    def _uncount_returner(self, ns: str) -> None:
        left = self._returners.pop(ns, 0) - 1
        if left > 0:
            self._returners[ns] = left

    def _hold(self, ns: str) -> None:
        self._held[ns] = self._held.get(ns, 0) + 1

    def _release(self, ns: str) -> None:
        left = self._held.pop(ns, 0) - 1
        if left > 0:
            self._held[ns] = left
        elif self._first_at_once and self._pass_on_within(ns):
            return
        if self._beyond > 0:
            self._beyond -= 1  # the bound is met again
            return
        self._free += 1
        while self._free > 0 and self._turn:
            ns = self._turn.popleft()
            waiter = self._take_next(ns)
            if ns in self._queues:
                self._turn.append(ns)
            if waiter.done():
                continue  # cancelled, its task not yet resumed to forget it
            self._free -= 1
            self._hold(ns)
            waiter.set_result(None)

    def _pass_on_within(self, ns: str) -> bool:
        """first_at_once: a namespace left holding none hands the slot to its own next
        caller, so a namespace with callers never holds none (they would wait for
        other namespaces' holders). False: nobody of ``ns`` waits."""
        while ns in self._queues:
            waiter = self._take_next(ns)
            if ns not in self._queues:
                self._turn.remove(ns)
            if not waiter.done():
                self._hold(ns)
                waiter.set_result(None)
                return True
        return False

    def _take_next(self, ns: str) -> asyncio.Future[None]:
        """Take the next waiter off ``ns``'s queue (dropping the queue once empty)."""
        queue = self._queues[ns]
        waiter = queue.popleft()
        if self._returners.get(ns):
            self._uncount_returner(ns)
        if not queue:
            del self._queues[ns]
        self._report(ns)
        return waiter

    def _report(self, ns: str) -> None:
        if self._on_waiting is not None:
            queue = self._queues.get(ns)
            self._on_waiting(ns, len(queue) if queue else 0)
