"""Every reconcile pass, run when the scheduler says it is due: asked for by Kopf's
create/update/resume handlers (``request``: at once, even if not due), or due by
itself (an operation in flight, the drift check, a nudge, an image's `usedBy` tick).

Kopf's handlers only ask and return, so Kopf's per-object work (and the event body it
keeps) ends at once, rather than waiting with the pass for a fair-share slot: the burst
ran about 7 % faster (median of four 1,000-pool runs each). A task exists only while a
pass runs. The pass reads the object's newest body from a Kopf index that keeps it as
compact JSON (``body_entry``), once when it starts and again once it holds the object's
lock. Kopf drops an object from its indexes when it is deleted, so an object gone
without a deletion pass (its finalizer removed by hand) is forgotten, never passed again.

Passes are admitted a bounded number at a time (twice the Azure slots), granted per
namespace in turn like the Azure slots (fairshare.py; a namespace with none admitted
gets one at once), and only an admitted pass reads its object. A 5,000-object burst
once queued thousands of passes for an Azure slot, each holding its parsed body and
contexts: the bound took the operator's peak RSS from 390-409 MB to about 347 MB
(`make bench` at 5,000 pools). A pass waiting for an ARM token gives its admission back
with its Azure slot, so the reads that confirm created pools are not held behind passes
asleep before their write; under ARM's limits, then, the passes asleep for a token
still hold their bodies, as they did before the bound. A pass not due (an image's
`usedBy` tick) or held off by Retry-After calls no Azure API and is not admitted.

Every pass goes through ``run.run_pass``, so through the policy gate
(reconcilers/kind.py): this module decides only when a pass runs, never what it may do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any, cast

import kopf

from ..fairshare import FairShare
from .descriptor import Call, KindPass
from .run import run_pass
from .runtime import Runtime
from .scheduler import AFTER_ERROR

logger = logging.getLogger(__name__)

# Passes admitted per Azure slot: those beyond the slots write status or wait for the
# object's lock meanwhile, so the slots stay busy.
ADMITTED_PER_SLOT = 2

# What a pass needs of an object but never reads: the server's bookkeeping, and
# kubectl's copy of the last applied manifest (as large as the spec). The status is
# what the last pass wrote (memory.py), newer than any body's.
_LEFT_OUT_META = frozenset({"managedFields", "resourceVersion",
                            "kubectl.kubernetes.io/last-applied-configuration"})


def body_entry(uid: str, body: Mapping[str, Any]) -> dict[str, str]:
    """A Kopf index entry: the object's body for its next scheduled pass, by uid."""
    meta = body.get("metadata") or {}
    kept: dict[str, Any] = {k: v for k, v in body.items() if k != "status"}
    kept["metadata"] = {k: v for k, v in meta.items() if k not in _LEFT_OUT_META}
    annotations = meta.get("annotations")
    if annotations:
        kept["metadata"]["annotations"] = {k: v for k, v in annotations.items()
                                           if k not in _LEFT_OUT_META}
    return {uid: json.dumps(kept, separators=(",", ":"))}


class ScheduledPasses:
    def __init__(self, runtime: Runtime, kinds: Iterable[KindPass[Any, Any]]) -> None:
        self._runtime = runtime
        self._kinds = tuple(kinds)
        # Kopf's indexes (pool_index, image_index, ... and each kind's bodies), taken
        # from the first handler call: Kopf hands them only to handlers.
        self._indexes: Mapping[str, Any] | None = None
        self._running: dict[str, asyncio.Task[None]] = {}
        self._loop: asyncio.Task[None] | None = None
        slots = runtime.settings.azure_concurrency
        # A namespace with no pass admitted gets one at once: its first pass never waits
        # for another namespace's passes to end (they may wait on a busy API server).
        self._admission = FairShare(None if slots is None else ADMITTED_PER_SLOT * slots,
                                    first_at_once=True)

    def bind(self, kwargs: Mapping[str, Any]) -> None:
        """Called by each handler with its kwargs. The first starts the loop: a task
        started here, not at startup, can post Kopf events (Kopf sets that up for
        handlers only), and nothing is due before an object's first pass anyway."""
        if self._indexes is None:
            self._indexes = {key: value for key, value in kwargs.items()
                             if isinstance(value, kopf.Index)}
            self._start_loop()

    def _start_loop(self) -> None:
        self._loop = asyncio.create_task(self._runtime.scheduler.run(self._fire),
                                         name="scheduled passes")
        self._loop.add_done_callback(self._loop_ended)

    def _loop_ended(self, task: asyncio.Task[None]) -> None:
        if task is self._loop and not task.cancelled():
            # It never returns; an error in it must not stop every object's passes.
            logger.error("the scheduled passes' loop ended (%r): restarting it",
                         task.exception())
            self._start_loop()

    async def stop(self) -> None:
        """At exit: cancel the loop and every pass in flight (a pass is safe to cut
        short: its status is written only at its end)."""
        tasks = [*self._running.values(), *([self._loop] if self._loop else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loop = None

    def cancel(self, uid: str) -> None:
        """The object is being deleted: no more reconcile passes, and the one in flight
        stops at once (its deletion pass waits for the object's lock). It is still looked
        at each drift interval, to be forgotten if it goes without its deletion pass."""
        self._runtime.scheduler.cease(uid)
        task = self._running.pop(uid, None)
        if task is not None:
            task.cancel()

    def __len__(self) -> int:
        """Passes in flight."""
        return len(self._running)

    def _fire(self, uid: str) -> None:
        if uid in self._running:
            return  # the pass in flight re-arms the object when it ends
        found = self._find(uid)
        if found is None:
            # Gone without a deletion pass (or out of this operator's scope): let it go.
            self._runtime.forget(uid)
            return
        kind, raw = found
        if _deleting(raw):
            # Its deletion handler owns it now; look again later in case it goes.
            self._runtime.scheduler.cease(uid)
            return
        meta = raw["metadata"]
        self._running[uid] = asyncio.create_task(
            self._pass(kind, uid, meta["name"], meta.get("namespace")))

    def _call(self, uid: str) -> Call | None:
        """The object's newest body as a handler call; None once gone or being deleted."""
        found = self._find(uid)
        return None if found is None or _deleting(found[1]) else self._as_call(uid, found[1])

    def _as_call(self, uid: str, raw: dict[str, Any]) -> Call:
        meta = raw["metadata"]
        assert self._indexes is not None
        return Call(meta["name"], meta.get("namespace"), raw.get("spec") or {},
                    kopf.Body(cast(kopf.RawBody, raw)), uid, self._indexes)

    def _fresh(self, uid: str) -> tuple[Call, bool] | None:
        call = self._call(uid)
        return None if call is None else (call, self._runtime.scheduler.take_forced(uid))

    def request(self, kind: KindPass[Any, Any], uid: str,
                status: Mapping[str, Any] | None) -> None:
        """An edit, a create or a resume (Kopf's handler): a pass at once, queued like
        the others rather than run in the handler, so Kopf's handler (and the event's
        body it keeps) ends at once. ``status``: the body's, the newest known after a
        restart (the pass reads its status from memory, and its body keeps none)."""
        if kind.between is not None:
            # It keeps status in step between passes (an image's `usedBy`): it wakes
            # each poll interval for that; an LRO is still polled when due.
            self._runtime.scheduler.wake_every(uid, self._runtime.settings.poll_interval)
        self._runtime.memory.seed_status(uid, status)
        self._runtime.scheduler.request(uid)

    def _find(self, uid: str) -> tuple[KindPass[Any, Any], dict[str, Any]] | None:
        if self._indexes is None:
            return None
        for kind in self._kinds:
            index: kopf.Index[str, str] | None = self._indexes.get(kind.bodies)
            if index is not None and uid in index:
                for text in index[uid]:
                    return kind, json.loads(text)
        return None

    async def _pass(self, kind: KindPass[Any, Any], uid: str, name: str,
                    namespace: str | None) -> None:
        scheduler = self._runtime.scheduler
        # A pass that will not call Azure (an image's `usedBy` tick between its passes,
        # one held off by Retry-After) is not admitted: it must not queue behind a burst.
        quick = not scheduler.is_due(uid) or scheduler.held_off(uid)
        admitted: contextlib.AbstractAsyncContextManager[None] = \
            contextlib.nullcontext() if quick else self._admission.slot(namespace)
        try:
            async with admitted:
                call = self._call(uid)
                if call is None:
                    return  # gone or being deleted while it waited
                # The body is read again once the lock is held: an edit's pass may hold
                # it, and a pause or a new spec may arrive meanwhile.
                await run_pass(self._runtime, kind, call, force=False,
                               fresh=lambda: self._fresh(uid))
        except Exception as exc:
            if isinstance(exc, kopf.TemporaryError):
                delay = exc.delay  # the status write failed (the API server may be down)
            else:
                logger.exception("%s %s/%s: scheduled pass failed", kind.name,
                                 namespace, name)
                delay = AFTER_ERROR
            # A pass that failed before ``schedule`` leaves the object due: not at once
            # again. A failed `usedBy` tick (the object not due) keeps its due time.
            if scheduler.is_due(uid):
                scheduler.schedule(uid, delay)
        finally:
            if self._running.get(uid) is asyncio.current_task():
                del self._running[uid]
                scheduler.arm(uid)


def _deleting(raw: Mapping[str, Any]) -> bool:
    return bool((raw.get("metadata") or {}).get("deletionTimestamp"))
