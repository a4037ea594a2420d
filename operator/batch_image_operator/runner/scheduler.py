"""When each object's next pass is due, and the per-object lock its passes hold.

A daemon per object sleeps in ``until_due``; a pass ends with ``schedule``; ``nudge``
makes a pass due at once. Azure's Retry-After (``hold_off``) and the resize backoff
(``resized``) are remembered here too, by uid, in monotonic time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time


class Scheduler:
    def __init__(self, drift_interval: float) -> None:
        self._drift_interval = drift_interval
        # uid -> monotonic time of the next reconcile pass the daemon should make.
        self._due: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        # uid -> monotonic time before which no further resize is re-issued (backoff).
        self._resize_after: dict[str, float] = {}
        # uid -> monotonic time before which Azure asked not to be called (Retry-After).
        self._hold_until: dict[str, float] = {}
        # uid -> set when a daemon's object is rescheduled or nudged (see until_due).
        self._wakeups: dict[str, asyncio.Event] = {}
        # uids nudged since their current pass began (see begin_pass).
        self._nudged: set[str] = set()

    def lock(self, uid: str) -> asyncio.Lock:
        return self._locks.setdefault(uid, asyncio.Lock())

    def is_due(self, uid: str) -> bool:
        return time.monotonic() >= self._due.get(uid, 0.0)

    def has_passed(self, uid: str) -> bool:
        """The object had a first pass (by its create, update or resume handler)."""
        return uid in self._due

    def begin_pass(self, uid: str) -> None:
        """A pass starts and will see the newest indexes: earlier nudges are served."""
        self._nudged.discard(uid)

    def schedule(self, uid: str, requeue: float | None) -> None:
        delay = self._drift_interval if requeue is None else requeue
        if uid in self._nudged:
            # Nudged while this pass ran: it may have read the indexes before the change.
            self._nudged.discard(uid)
            delay = 0.0
        self._due[uid] = time.monotonic() + delay
        self._wake(uid)

    def _wake(self, uid: str) -> None:
        event = self._wakeups.get(uid)
        if event is not None:
            event.set()

    async def until_due(self, uid: str, at_most: float | None = None) -> None:
        """Sleep until the object's next pass is due and no Retry-After holds it, or (once
        it has had a first pass) for ``at_most`` seconds, whichever comes first.

        Waits for the first pass (by a create/update/resume handler) to schedule one, so
        a new object is not passed twice; ``schedule`` and ``nudge`` wake it early.
        """
        event = self._wakeups.setdefault(uid, asyncio.Event())
        deadline = None if at_most is None else time.monotonic() + at_most
        while True:
            event.clear()
            if uid not in self._due:
                await event.wait()
                continue
            at = max(self._due[uid], self._hold_until.get(uid, 0.0))
            if deadline is not None:
                at = min(at, deadline)
            delay = at - time.monotonic()
            if delay <= 0:
                return
            # asyncio.timeout, not wait_for: wait_for wraps the wait in a task of its
            # own, a kilobyte more for each of thousands of sleeping objects.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await event.wait()

    def hold_off(self, uid: str, seconds: float) -> None:
        self._hold_until[uid] = time.monotonic() + seconds

    def held_off(self, uid: str) -> bool:
        """Within a Retry-After Azure gave this object: even an edit waits for the daemon."""
        return time.monotonic() < self._hold_until.get(uid, 0.0)

    def nudge(self, uid: str) -> None:
        """Make the object's daemon run a full pass at once.

        An object not passed yet is left to its first pass (by its create or resume
        handler); one whose pass is running gets another right after it.
        """
        self._nudged.add(uid)
        if uid in self._due:
            self._due[uid] = 0.0
            self._wake(uid)

    def resize_wait(self, uid: str) -> float:
        return max(0.0, self._resize_after.get(uid, 0.0) - time.monotonic())

    def resized(self, uid: str, next_in: float) -> None:
        self._resize_after[uid] = time.monotonic() + next_in

    def forget(self, uid: str) -> None:
        self._due.pop(uid, None)
        self._locks.pop(uid, None)
        self._resize_after.pop(uid, None)
        self._hold_until.pop(uid, None)
        self._wakeups.pop(uid, None)
        self._nudged.discard(uid)
