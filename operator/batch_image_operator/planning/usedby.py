"""When a ManagedImage's `status.usedBy` is rewritten (pure; time is passed in).

`usedBy` only shows who uses the image: the deletion guard reads Kopf's pool index, never
this list. Written at every change, it cost one status PATCH per pool joining the image,
spread over a create burst (22.7 PATCHes an image at 5,000 pools against 7.7 at 1,000).
So changes are coalesced: the first change after ``longest`` without a write is written
at once; while changes keep coming, each write waits twice as long as the one before, up
to ``longest``. A burst costs a few writes per image (about log2 of its length), and the
list is never more than ``longest`` behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class _Written:
    at: float   # when the last change was handed out to be written
    gap: float  # the spacing before the next one


class UsedByPacing:
    def __init__(self, first: float, longest: float) -> None:
        self._first, self._longest = first, max(first, longest)
        self._written: dict[str, _Written] = {}

    def shown(self, uid: str, users: Sequence[str], written: Sequence[str],
              now: float) -> list[str]:
        """The list the image's status should carry now: ``users`` (the current ones) if
        a write of it is allowed, else ``written`` (the list its status has)."""
        if list(users) == list(written):
            return list(written)
        last = self._written.get(uid)
        if last is None or now - last.at >= self._longest:
            # Nothing written for a while: at once. (A quiet spell measured in gaps would
            # let a burst whose pools join an image every few seconds write each one.)
            gap = self._first
        elif now - last.at >= last.gap:
            gap = min(2 * last.gap, self._longest)
        else:
            return list(written)
        self._written[uid] = _Written(now, gap)
        return list(users)

    def forget(self, uid: str) -> None:
        self._written.pop(uid, None)
