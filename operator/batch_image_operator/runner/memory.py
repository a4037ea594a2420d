"""What this process remembers of each object between its passes, by uid.

Newer than any body Kopf hands a pass (a scheduled pass's body keeps no status): the
status it last wrote, the warnings it last posted and the nodes it admitted for a pool.
A new per-object fact belongs here, and in ``forget``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast


class ObjectMemory:
    def __init__(self) -> None:
        # uid -> the status this process last wrote (newer than any body),
        # as compact JSON: a Ready pool's status is 5.7 KB of dicts and 1.5 KB of text,
        # 21 MB at 5,000 pools; parsing it back costs microseconds a pass.
        self._status: dict[str, str] = {}
        # uid -> the warnings last posted for it (see status.events_to_post).
        self._warned: dict[str, frozenset[tuple[str, str]]] = {}
        # uid -> (dedicated, low-priority) nodes admitted for a BatchPool by this process:
        # newer than the index's copy from status, and reserved before any Azure call.
        self.admitted: dict[str, tuple[int, int]] = {}

    def status_of(self, uid: str, body: Mapping[str, Any]) -> dict[str, Any]:
        cached = self._status.get(uid)
        return cast(dict[str, Any], json.loads(cached)) if cached is not None \
            else dict(body.get("status") or {})

    def seed_status(self, uid: str, status: Mapping[str, Any] | None) -> None:
        """A body's status, remembered unless this process knows a newer one (its own
        last write): what a pass starts from after a restart."""
        if uid not in self._status:
            self.remember_status(uid, dict(status or {}))

    def remember_status(self, uid: str, status: dict[str, Any]) -> None:
        self._status[uid] = json.dumps(status, separators=(",", ":"))

    def waiting_for_image(self, uid: str) -> bool:
        """The object's last pass found its image missing or not Ready."""
        cached = self._status.get(uid)
        status = json.loads(cached) if cached is not None else {}
        for cond in status.get("conditions") or []:
            if cond.get("type") == "ImageResolved":
                return bool(cond.get("status") == "False")
        return False

    def warned(self, uid: str) -> frozenset[tuple[str, str]]:
        return self._warned.get(uid, frozenset())

    def remember_warned(self, uid: str, warned: frozenset[tuple[str, str]]) -> None:
        if warned:
            self._warned[uid] = warned
        else:
            self._warned.pop(uid, None)

    def admit(self, uid: str, nodes: tuple[int, int] | None) -> None:
        if nodes is None:
            self.admitted.pop(uid, None)
        else:
            self.admitted[uid] = nodes

    def forget(self, uid: str) -> None:
        self._status.pop(uid, None)
        self._warned.pop(uid, None)
        self.admitted.pop(uid, None)
