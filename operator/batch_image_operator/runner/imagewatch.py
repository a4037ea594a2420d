"""Pools waiting for an image do not poll it: the image's own events wake them."""

from __future__ import annotations

from collections.abc import Iterable

from ..models.references import ImageInfo
from .memory import ObjectMemory
from .scheduler import Scheduler


class ImageWatch:
    """The last state seen of each ManagedImage, to wake its pools only on a change.

    It has no ``forget``: an image's entry goes with its DELETED event, which comes
    after its deletion pass has ended (and forgotten the rest of the image).
    """

    def __init__(self, scheduler: Scheduler, memory: ObjectMemory) -> None:
        self._scheduler, self._memory = scheduler, memory
        # ManagedImage uid -> (ready, deleting, effective id) last seen.
        self._seen: dict[str, tuple[bool, bool, str | None]] = {}

    def changed(self, uid: str, image: ImageInfo | None, pools: Iterable[str]) -> None:
        """A ManagedImage event (None: gone): wake the pools naming it if it changed.

        An image seen for the first time (created, or listed after a restart) wakes only
        the pools already waiting for it: after a restart every pool has its own first
        pass, and waking them all would pass each twice.
        """
        state = None if image is None else (image.ready, image.deleting, image.effective_id)
        first = uid not in self._seen
        before = self._seen.pop(uid, None)
        if state is not None:
            self._seen[uid] = state
        if before == state:
            return
        for pool in pools:
            if not first or self._memory.waiting_for_image(pool):
                self._scheduler.nudge(pool)
