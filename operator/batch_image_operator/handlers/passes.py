"""One pass runner for both kinds and both directions.

A reconcile pass: under the object's lock, skip when not due (or held off by Azure's
Retry-After), stop at the pause annotation, then run the kind's step with the
namespace's identity inside a slot of its fair share, write the status under the lock
and schedule the next pass. A deletion pass: the same, but never skipped or paused,
and it keeps the finalizer (a Kopf retry) until the step says the resource is gone.

The kinds differ only in the step they pass in (reconcilers/), built by contexts.py.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import kopf

from .. import GROUP, VERSION
from ..kube.api import KubeApiError
from ..kube.secrets import SecretError
from ..reconcilers.common import credential_outcome
from ..reconcilers.outcome import Outcome, result_of
from .identities import Identity
from .kopfconfig import KINDS, WAITING
from .logs import emit, pass_log
from .runtime import Runtime
from .status import events_to_post, is_paused, pause_outcome, post_events, status_changes

# The kind's part of a pass: given the identity to call Azure with, what it found.
Step = Callable[[Identity], Awaitable[Outcome]]


async def run_pass(runtime: Runtime, plural: str, body: kopf.Body, uid: str,
                   namespace: str | None, prepare: Callable[[], Step], *, force: bool,
                   between: Callable[[], Awaitable[None]] | None = None) -> None:
    """One reconcile pass. ``force``: an edit or a resume, run even if not yet due.

    ``between`` runs instead when no pass is due (an image keeps `usedBy` in step);
    ``prepare`` builds the step once the pass has begun.
    """
    scheduler = runtime.scheduler
    async with scheduler.lock(uid):
        if (not force and not scheduler.is_due(uid)) or scheduler.held_off(uid):
            if between is not None:
                await between()
            return
        if await _paused(runtime, plural, body, uid):
            return
        scheduler.begin_pass(uid)
        step = prepare()
        started = time.monotonic()
        # Only the Azure calls hold a slot of the namespace's fair share (fairshare.py),
        # not the status write after them: a slow API server never holds an Azure slot.
        # The object's lock is held while queued, which only keeps this object's own
        # next pass waiting (it would queue behind this one anyway); a deletion cancels
        # a daemon's wait at once.
        async with _identity(runtime, namespace) as identity, \
                runtime.fairshare.slot(namespace):
            outcome = identity if isinstance(identity, Outcome) else await step(identity)
        await _finish_pass(runtime, plural, outcome, body, uid, started)


async def run_deletion(runtime: Runtime, plural: str, body: kopf.Body, uid: str,
                       namespace: str | None, step: Step) -> None:
    """One deletion pass; raises Kopf's retry until the step's outcome is done."""
    async with runtime.scheduler.lock(uid):
        started = time.monotonic()
        async with _identity(runtime, namespace) as identity, \
                runtime.fairshare.slot(namespace):
            outcome = identity if isinstance(identity, Outcome) else await step(identity)
        await _finish_deletion(runtime, plural, outcome, body, uid, started)


@contextlib.asynccontextmanager
async def _identity(runtime: Runtime,
                    namespace: str | None) -> AsyncIterator[Identity | Outcome]:
    """The namespace's identity, held for the pass, or the outcome saying why not."""
    async with contextlib.AsyncExitStack() as stack:
        try:
            found: Identity | Outcome = await stack.enter_async_context(
                runtime.identities.identity(namespace))
        except SecretError as exc:
            found = credential_outcome(str(exc), runtime.settings)
        yield found


async def write_status(runtime: Runtime, plural: str, body: kopf.Body, uid: str,
                       status: dict[str, Any], changes: dict[str, Any]) -> None:
    """Write ``changes`` now, under the object's lock, and remember the result."""
    if changes:
        assert runtime.kube is not None
        meta = body.get("metadata", {})
        try:
            await runtime.kube.patch_status(GROUP, VERSION, plural, meta.get("namespace"),
                                            meta["name"], changes)
        except (KubeApiError, aiohttp.ClientError, TimeoutError) as exc:
            # Not remembered, so the next pass (due at once) writes it again.
            raise kopf.TemporaryError(f"writing status: {exc}",
                                      delay=runtime.settings.poll_interval) from exc
    runtime.memory.remember_status(uid, {**status, **changes})


async def _apply(runtime: Runtime, plural: str, outcome: Outcome, body: kopf.Body,
                 uid: str) -> None:
    memory = runtime.memory
    status = memory.status_of(uid, body)
    meta = body.get("metadata", {})
    changes, changed = status_changes(outcome, generation=meta.get("generation"),
                                      status=status)
    await write_status(runtime, plural, body, uid, status, changes)
    events, warned = events_to_post(outcome, memory.warned(uid))
    memory.remember_warned(uid, warned)
    post_events(events, body)
    emit(pass_log(KINDS[plural], meta.get("namespace"), meta["name"], outcome, events, changed))


async def _paused(runtime: Runtime, plural: str, body: kopf.Body, uid: str) -> bool:
    """`batchimage.dev/paused: "true"` stops Azure calls (not deletion) until removed."""
    outcome = pause_outcome(body, runtime.memory.status_of(uid, body))
    if outcome is not None:
        await _apply(runtime, plural, outcome, body, uid)
        runtime.scheduler.schedule(uid, outcome.requeue)
    return is_paused(body)


async def _finish_pass(runtime: Runtime, plural: str, outcome: Outcome, body: kopf.Body,
                       uid: str, started: float) -> None:
    scheduler, metrics, kind = runtime.scheduler, runtime.metrics, KINDS[plural]
    await _apply(runtime, plural, outcome, body, uid)
    if "admittedNodes" in outcome.status:
        nodes = outcome.status["admittedNodes"]
        runtime.memory.admit(uid, (nodes["dedicated"], nodes["lowPriority"]) if nodes else None)
    scheduler.schedule(uid, outcome.requeue)
    if outcome.hold_off:
        scheduler.hold_off(uid, outcome.hold_off)
    if outcome.next_resize_in is not None:
        scheduler.resized(uid, outcome.next_resize_in)
    for other in outcome.nudge:
        scheduler.nudge(other)
    metrics.reconciled(kind, result_of(outcome), time.monotonic() - started)
    ready = next((c.status for c in outcome.conditions if c.type == "Ready"), "Unknown")
    metrics.object_ready(uid, kind, ready)
    metrics.passed(uid, kind, body, runtime.memory.status_of(uid, body), outcome)


async def _finish_deletion(runtime: Runtime, plural: str, outcome: Outcome,
                           body: kopf.Body, uid: str, started: float) -> None:
    await _apply(runtime, plural, outcome, body, uid)
    runtime.metrics.reconciled(KINDS[plural], result_of(outcome), time.monotonic() - started)
    if not outcome.done:
        raise kopf.TemporaryError(WAITING + (outcome.message or "in progress"),
                                  delay=outcome.requeue or runtime.settings.poll_interval)
    runtime.forget(uid)
    runtime.metrics.object_ready(uid, KINDS[plural], None)
