"""Versioned in-memory object store with a bounded event history and watch fan-out.

One global integer resourceVersion orders every write, as etcd's revision does.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

from .errors import expired

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (group, plural)
Obj = dict[str, Any]


@dataclass(frozen=True)
class Event:
    type: str  # ADDED | MODIFIED | DELETED
    rv: int
    key: Key
    obj: Obj
    old: Obj | None  # previous state, so selector transitions become ADDED/DELETED


class Watcher:
    """One open watch: a queue the store pushes events into."""

    def __init__(self, key: Key) -> None:
        self.key = key
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue()

    def close(self) -> None:
        self.queue.put_nowait(None)  # None tells the stream to end


class Store:
    def __init__(self, history: int = 2000) -> None:
        self.rv = 1
        self._objects: dict[Key, dict[tuple[str, str], Obj]] = {}
        self._history: deque[Event] = deque()
        self._history_limit = history
        # Events at or below this resourceVersion are no longer replayable.
        self.compacted_rv = 0
        self._watchers: set[Watcher] = set()

    # -- reads -----------------------------------------------------------------
    def get(self, key: Key, namespace: str, name: str) -> Obj | None:
        obj = self._objects.get(key, {}).get((namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    def objects(self, key: Key) -> list[Obj]:
        objs = self._objects.get(key, {})
        return [copy.deepcopy(objs[k]) for k in sorted(objs)]

    def count(self, key: Key, namespace: str | None = None) -> int:
        objs = self._objects.get(key, {})
        if namespace is None:
            return len(objs)
        return sum(1 for ns, _ in objs if ns == namespace)

    # -- writes ----------------------------------------------------------------
    def _bump(self) -> int:
        self.rv += 1
        return self.rv

    def put(self, key: Key, obj: Obj, old: Obj | None) -> Obj:
        """Store ``obj`` with a fresh resourceVersion; emit ADDED or MODIFIED.

        The store takes ``obj`` over (every caller built it for this write); the caller
        gets a copy back."""
        rv = self._bump()
        obj["metadata"]["resourceVersion"] = str(rv)
        meta = obj["metadata"]
        self._objects.setdefault(key, {})[(meta.get("namespace", ""), meta["name"])] = obj
        self._emit(Event("MODIFIED" if old is not None else "ADDED", rv, key, obj, old))
        return copy.deepcopy(obj)

    def remove(self, key: Key, obj: Obj) -> Obj:
        """Remove an object; the DELETED event carries a fresh resourceVersion."""
        meta = obj["metadata"]
        stored = self._objects.get(key, {}).pop((meta.get("namespace", ""), meta["name"]), None)
        if stored is None:
            return obj
        rv = self._bump()
        gone = copy.deepcopy(stored)
        gone["metadata"]["resourceVersion"] = str(rv)
        self._emit(Event("DELETED", rv, key, gone, stored))
        return copy.deepcopy(gone)

    def drop_key(self, key: Key) -> None:
        """Forget a resource entirely (its CRD is gone); its watches end."""
        self._objects.pop(key, None)
        for watcher in [w for w in self._watchers if w.key == key]:
            watcher.close()

    # -- watch -----------------------------------------------------------------
    def _emit(self, event: Event) -> None:
        self._history.append(event)
        while len(self._history) > self._history_limit:
            self.compacted_rv = self._history.popleft().rv
        for watcher in list(self._watchers):
            if watcher.key == event.key:
                watcher.queue.put_nowait(event)

    def compact(self) -> None:
        """Forget all history, as etcd compaction does: older RVs now answer 410."""
        self._history.clear()
        self.compacted_rv = self.rv

    def subscribe(self, key: Key) -> Watcher:
        watcher = Watcher(key)
        self._watchers.add(watcher)
        return watcher

    def unsubscribe(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)

    def close_watchers(self) -> int:
        watchers = list(self._watchers)
        for watcher in watchers:
            watcher.close()
        return len(watchers)

    def events_since(self, key: Key, rv: int) -> list[Event]:
        """Events for ``key`` newer than ``rv``; 410 Expired when history is gone."""
        if rv < self.compacted_rv:
            raise expired(rv, self.compacted_rv + 1)
        return [e for e in self._history if e.key == key and e.rv > rv]
