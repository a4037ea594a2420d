"""When each object's next pass is due, and the per-object lock its passes hold.

A pass ends with ``schedule``; ``nudge`` makes a pass due at once. One timer loop
(``run``) hands each object to ``fire`` when its pass is due: a sleeping object is a
heap entry and a few dict entries (135 B), not a task: a Kopf daemon per object, and
the live body Kopf kept for it, cost about 9 KB of peak RSS an object (5,000 pools:
436 MB with daemons, 391 MB without). Azure's Retry-After (``hold_off``) and the resize
backoff (``resized``) are remembered here too, by uid, in monotonic time.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

# When handing an object out failed: try again after this long, as Kopf restarts a
# failed daemon.
AFTER_ERROR = 60.0


class Scheduler:
    def __init__(self, drift_interval: float) -> None:
        self._drift_interval = drift_interval
        # uid -> monotonic time of the object's next reconcile pass.
        self._due: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        # uid -> monotonic time before which no further resize is re-issued (backoff).
        self._resize_after: dict[str, float] = {}
        # uid -> monotonic time before which Azure asked not to be called (Retry-After).
        self._hold_until: dict[str, float] = {}
        # uids nudged since their current pass began (see begin_pass).
        self._nudged: set[str] = set()
        # uids whose next pass runs even if not due (an edit, a create, a resume).
        self._forced: set[str] = set()
        # uid -> seconds between wake-ups of an object that keeps status in step between
        # its passes (an image's `usedBy`), and when it was last woken.
        self._every: dict[str, float] = {}
        self._woken: dict[str, float] = {}
        # uid -> when ``run`` next hands it to ``fire``; a heap entry not matching it is
        # stale (re-armed earlier or later, or forgotten) and skipped when it comes up.
        self._armed: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self._changed = asyncio.Event()

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
        if uid in self._forced:
            delay = 0.0  # an edit came while this pass ran: its pass comes next
        self._due[uid] = time.monotonic() + delay
        self.arm(uid)

    def request(self, uid: str) -> None:
        """An edit, a create or a resume: a pass at once, run even if not due (a
        Retry-After still holds it)."""
        self._forced.add(uid)
        self._due[uid] = time.monotonic()
        self.arm(uid)

    def take_forced(self, uid: str) -> bool:
        """Whether the pass beginning now was requested; the request is served by it."""
        if uid in self._forced:
            self._forced.discard(uid)
            return True
        return False

    def wake_every(self, uid: str, seconds: float) -> None:
        """Hand the object to ``fire`` at least this often once it has had a first pass
        (an image keeps `usedBy` in step between passes)."""
        self._every[uid] = seconds

    def arm(self, uid: str) -> None:
        """Set the object's next wake-up from what is known now: when its pass is due and
        no Retry-After holds it, or its next ``wake_every`` tick, whichever comes first.

        Nothing before its first pass (by a create/update/resume handler): a new object
        is not passed twice.
        """
        if uid not in self._due:
            return
        at = max(self._due[uid], self._hold_until.get(uid, 0.0))
        every = self._every.get(uid)
        if every is not None:
            at = min(at, self._woken.setdefault(uid, time.monotonic()) + every)
        if self._armed.get(uid) == at:
            return
        self._armed[uid] = at
        heapq.heappush(self._heap, (at, uid))
        if self._heap[0][1] == uid:
            self._changed.set()  # earlier than the loop's sleep
        if len(self._heap) > 2 * len(self._armed) + 1024:
            # Re-arming leaves stale entries behind: drop them before they pile up.
            self._heap = [(at, uid) for uid, at in self._armed.items()]
            heapq.heapify(self._heap)

    async def run(self, fire: Callable[[str], None]) -> None:
        """Forever: hand each object to ``fire`` when its wake-up comes. ``fire`` must not
        block; whatever it starts re-arms the object when done (``schedule``, ``arm``)."""
        while True:
            self._changed.clear()
            now = time.monotonic()
            while self._heap and self._heap[0][0] <= now:
                at, uid = heapq.heappop(self._heap)
                if self._armed.get(uid) != at:
                    continue
                del self._armed[uid]
                if uid in self._every:
                    self._woken[uid] = now
                try:
                    fire(uid)
                except Exception:
                    # One object's failure must not end every object's passes.
                    logger.exception("scheduling the next pass of %s failed", uid)
                    self._due[uid] = now + AFTER_ERROR
                    self.arm(uid)
            delay = self._heap[0][0] - now if self._heap else None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._changed.wait()

    def hold_off(self, uid: str, seconds: float) -> None:
        self._hold_until[uid] = time.monotonic() + seconds
        self.arm(uid)

    def held_off(self, uid: str) -> bool:
        """Within a Retry-After Azure gave this object: even an edit waits for it to end."""
        return time.monotonic() < self._hold_until.get(uid, 0.0)

    def nudge(self, uid: str) -> None:
        """Make the object's next pass run at once.

        An object not passed yet is left to its first pass (by its create or resume
        handler); one whose pass is running gets another right after it.
        """
        self._nudged.add(uid)
        if uid in self._due:
            self._due[uid] = 0.0
            self.arm(uid)

    def resize_wait(self, uid: str) -> float:
        return max(0.0, self._resize_after.get(uid, 0.0) - time.monotonic())

    def resized(self, uid: str, next_in: float) -> None:
        self._resize_after[uid] = time.monotonic() + next_in

    def cease(self, uid: str) -> None:
        """The object is being deleted: from now on it is handed out only each drift
        interval (or when nudged), for ``fire`` to see whether it is gone without its
        deletion pass (its finalizer removed by hand). Its lock stays, for the deletion
        passes that follow."""
        self._drop_wakeups(uid)
        self._due[uid] = time.monotonic() + self._drift_interval
        self.arm(uid)

    def forget(self, uid: str) -> None:
        self._drop_wakeups(uid)
        self._due.pop(uid, None)
        self._locks.pop(uid, None)
        self._resize_after.pop(uid, None)
        self._hold_until.pop(uid, None)

    def _drop_wakeups(self, uid: str) -> None:
        """Everything that would hand the object out before its due time."""
        self._armed.pop(uid, None)
        self._every.pop(uid, None)
        self._woken.pop(uid, None)
        self._nudged.discard(uid)
        self._forced.discard(uid)

    def __len__(self) -> int:
        """Objects with a wake-up armed."""
        return len(self._armed)
