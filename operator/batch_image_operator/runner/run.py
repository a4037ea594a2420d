"""One pass runner for both kinds and both directions.

A reconcile pass: under the object's lock, skip when not due (or held off by Azure's
Retry-After), stop at the pause annotation, then run the kind's reconcile step (through
reconcilers/kind.py: parse, policy gate, step) with the namespace's identity inside a
slot of its fair share, write the status under the lock and schedule the next pass. A
deletion pass: the same, but never skipped or paused, and it keeps the finalizer (a Kopf
retry) until the step says the resource is gone.

What differs between the kinds is their descriptor (descriptor.py, kinds.py).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Protocol

import aiohttp
import kopf

from .. import GROUP, VERSION
from ..config import Settings
from ..kube.api import KubeApiError
from ..kube.secrets import SecretError
from ..reconcilers import kind as reconcilers
from ..reconcilers.common import credential_outcome
from ..reconcilers.kind import Gateways, Kind
from ..reconcilers.outcome import Outcome, result_of
from .descriptor import Call, KindPass
from .identities import Identity
from .logs import emit, pass_log
from .runtime import Runtime
from .status import events_to_post, is_paused, pause_outcome, post_events, status_changes

# Prefixes the message of a deliberate retry (a deletion waiting for Azure or for users).
WAITING = "waiting: "


async def run_pass(runtime: Runtime, kind: KindPass[Any, Any], call: Call, *,
                   force: bool,
                   fresh: Callable[[], tuple[Call, bool] | None] | None = None) -> None:
    """One reconcile pass. ``force``: an edit or a resume, run even if not yet due.
    ``fresh``: once the lock is held, the object as it is then and whether an edit asked
    for this pass (None: gone or being deleted, no pass); for a pass that may have
    waited behind another."""
    scheduler, uid = runtime.scheduler, call.uid
    async with scheduler.lock(uid):
        if fresh is not None:
            newest = fresh()
            if newest is None:
                return
            call, requested = newest
            force = force or requested
        if (not force and not scheduler.is_due(uid)) or scheduler.held_off(uid):
            if kind.between is not None:
                await kind.between(runtime, call)
            return
        if await _paused(runtime, kind, call):
            return
        scheduler.begin_pass(uid)
        started = time.monotonic()
        outcome = await _in_azure(runtime, kind, call, reconcilers.reconcile)
        await _finish_pass(runtime, kind, call, outcome, started)


async def run_deletion(runtime: Runtime, kind: KindPass[Any, Any], call: Call) -> None:
    """One deletion pass; raises Kopf's retry until the step's outcome is done."""
    async with runtime.scheduler.lock(call.uid):
        started = time.monotonic()
        outcome = await _in_azure(runtime, kind, call, reconcilers.delete)
        await _finish_deletion(runtime, kind, call, outcome, started)


class Direction(Protocol):
    """``reconcilers.reconcile`` or ``reconcilers.delete``: parse, gate, then the step."""

    async def __call__(self, kind: Kind[Any, Any], name: str, raw_spec: Mapping[str, Any],
                       ctx: Any, *, settings: Settings, gateways: Gateways) -> Outcome: ...


async def _in_azure(runtime: Runtime, kind: KindPass[Any, Any], call: Call,
                    direction: Direction) -> Outcome:
    """The part of a pass that talks to Azure, with the namespace's identity."""
    ctx = kind.context(runtime, call)
    # Only the Azure calls hold a slot of the namespace's fair share (fairshare.py),
    # not the status write after them: a slow API server never holds an Azure slot.
    # The object's lock is held while queued, which only keeps this object's own
    # next pass waiting (it would queue behind this one anyway); a deletion cancels
    # a scheduled pass's wait at once (scheduled.py).
    async with _identity(runtime, call.namespace) as identity, \
            runtime.fairshare.slot(call.namespace):
        if isinstance(identity, Outcome):
            return identity
        return await direction(kind.kind, call.name, call.spec, ctx,
                               settings=runtime.settings, gateways=identity.gateways)


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


async def _apply(runtime: Runtime, kind: KindPass[Any, Any], call: Call,
                 outcome: Outcome) -> None:
    memory, body, uid = runtime.memory, call.body, call.uid
    status = memory.status_of(uid, body)
    meta = body.get("metadata", {})
    changes, changed = status_changes(outcome, generation=meta.get("generation"),
                                      status=status)
    await write_status(runtime, kind.plural, body, uid, status, changes)
    events, warned = events_to_post(outcome, memory.warned(uid))
    memory.remember_warned(uid, warned)
    post_events(events, body)
    emit(pass_log(kind.name, meta.get("namespace"), meta["name"], outcome, events, changed))


async def _paused(runtime: Runtime, kind: KindPass[Any, Any], call: Call) -> bool:
    """`batchimage.dev/paused: "true"` stops Azure calls (not deletion) until removed."""
    outcome = pause_outcome(call.body, runtime.memory.status_of(call.uid, call.body))
    if outcome is not None:
        await _apply(runtime, kind, call, outcome)
        runtime.scheduler.schedule(call.uid, outcome.requeue)
    return is_paused(call.body)


async def _finish_pass(runtime: Runtime, kind: KindPass[Any, Any], call: Call,
                       outcome: Outcome, started: float) -> None:
    scheduler, metrics, uid = runtime.scheduler, runtime.metrics, call.uid
    await _apply(runtime, kind, call, outcome)
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
    metrics.reconciled(kind.name, result_of(outcome), time.monotonic() - started)
    ready = next((c.status for c in outcome.conditions if c.type == "Ready"), "Unknown")
    metrics.object_ready(uid, kind.name, ready)
    metrics.passed(uid, kind.name, call.body, runtime.memory.status_of(uid, call.body), outcome)


async def _finish_deletion(runtime: Runtime, kind: KindPass[Any, Any], call: Call,
                           outcome: Outcome, started: float) -> None:
    await _apply(runtime, kind, call, outcome)
    runtime.metrics.reconciled(kind.name, result_of(outcome), time.monotonic() - started)
    if not outcome.done:
        raise kopf.TemporaryError(WAITING + (outcome.message or "in progress"),
                                  delay=outcome.requeue or runtime.settings.poll_interval)
    runtime.forget(call.uid)
