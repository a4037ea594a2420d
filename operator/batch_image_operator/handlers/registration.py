"""Wire Kopf to the reconcilers. Registered at startup, so nothing reads the env at import.

Each kind gets: create/update/resume handlers that run one reconcile pass, a daemon
that runs the next pass when it is due (operation in flight, or drift check) and a
delete handler. A ManagedImage's daemon also wakes each poll interval to keep `usedBy`
in step with its pools. Passes for one object are serialised by a per-object lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from functools import partial
from typing import Any, Protocol, cast

import aiohttp
import kopf

from .. import GROUP, VERSION
from ..config import Settings
from ..kube.api import KubeApi, KubeApiError
from ..kube.secrets import SecretError
from ..kube.session import bounded_session
from ..models.references import ImageInfo
from ..planning.limits import Admission, PoolDemand, admit
from ..planning.ownership import ADOPT_ANNOTATION
from ..planning.references import image_info
from ..reconcilers.common import credential_outcome
from ..reconcilers.images import ImageContext, reconcile_image, reconcile_image_deletion
from ..reconcilers.outcome import Outcome, result_of
from ..reconcilers.policy import owner_of
from ..reconcilers.pools import PoolContext, reconcile_pool, reconcile_pool_deletion
from .identities import Identity
from .indexes import (
    ImageKey,
    Key,
    PoolEntry,
    Users,
    accounts_of,
    admitted_demands,
    admitted_of,
    image_info_of,
    lookup_image,
    namespace_pools,
    pool_entry_of,
    pools_naming,
    users_of,
)
from .logs import emit, pass_log
from .runtime import Runtime
from .status import events_to_post, is_paused, pause_outcome, post_events, status_changes

FINALIZER = f"{GROUP}/finalizer"
WAITING = "waiting: "
IMAGES, POOLS = "managedimages", "batchpools"
WAKE_POOLS = "wake_pools"
KINDS = {IMAGES: "ManagedImage", POOLS: "BatchPool"}


class _DemoteRoutine(logging.Filter):
    """Kopf logs every deliberate retry as an error (and posts it as an Error event) and
    every run of an event handler at info. Our waits (blocked deletion, Azure still
    deleting) are normal and already shown by a condition and one event, and a line per
    image event drowns everything else: both go to debug. So does Kopf's "succeeded" for
    our reconcile handlers: it says so even when Azure refused the request, and
    handlers/logs.py writes what the pass really found.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        msg = str(record.msg)
        waiting = record.levelno >= logging.ERROR and f"failed temporarily: {WAITING}" in msg
        routine = record.levelno == logging.INFO and (
            msg in _SUCCEEDED or msg.endswith(" is processed: 1 succeeded; 0 failed."))
        if waiting or routine:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            # The level was checked before this filter ran: drop it unless debugging.
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


_SUCCEEDED = frozenset(f"Handler '{h}' succeeded." for h in (
    WAKE_POOLS, "reconcile_managedimage", "reconcile_batchpool", "delete_managedimage",
    "delete_batchpool"))


def configure_kopf(settings: kopf.OperatorSettings, runtime: Runtime) -> None:
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = runtime.progress
    settings.persistence.diffbase_storage = runtime.diffbase
    # Our own events say what happened; Kopf's "handler succeeded" notes are noise.
    settings.posting.level = logging.WARNING
    logging.getLogger("kopf.objects").addFilter(_DemoteRoutine())
    # azure-core logs every request and its headers at INFO: noise, and a leak risk.
    logging.getLogger("azure").setLevel(logging.WARNING)


KubeLogin = Callable[..., kopf.ConnectionInfo | None]


class Pass(Protocol):
    """One reconcile pass of an object, as the handlers and daemons call it."""

    def __call__(self, name: str, namespace: str | None, spec: kopf.Spec, body: kopf.Body,
                 uid: str, indexes: Mapping[str, Any], *, force: bool) -> Awaitable[None]: ...


def register(registry: kopf.OperatorRegistry, settings: Settings,
             credential_env: Mapping[str, str], kube_login: KubeLogin) -> Runtime:
    """Wire every handler. ``kube_login`` takes Kopf's login kwargs and says how to reach
    the API server (Kopf's login, the status writes and the credential Secrets use it).
    """
    runtime = Runtime(settings, credential_env)

    @kopf.on.login(id="login", registry=registry)
    async def login(**kwargs: Any) -> kopf.AiohttpSession | None:
        info = kube_login(**kwargs)
        return bounded_session(info, settings.kube_connections) if info else None

    @kopf.on.startup(id="startup", registry=registry)
    async def startup(settings: kopf.OperatorSettings, logger: kopf.Logger,
                      **_: Any) -> None:
        configure_kopf(settings, runtime)
        runtime.kube = KubeApi(partial(kube_login, settings=settings, logger=logger),
                               runtime.settings.kube_connections)
        try:
            runtime.cluster_id = runtime.settings.cluster_id or \
                await runtime.kube.namespace_uid("kube-system")
        except (KubeApiError, aiohttp.ClientError, TimeoutError) as exc:
            # Without it no owner mark can be written or recognised: refuse to start.
            raise kopf.PermanentError(
                f"cannot name this cluster for owner marks ({exc}); set BIO_CLUSTER_ID "
                "or allow reading the kube-system namespace") from exc
        await runtime.start()

    @kopf.on.cleanup(id="cleanup", registry=registry)
    async def cleanup(**_: Any) -> None:
        await runtime.stop()

    # Indexers are async so Kopf runs them inline: sync ones go through a thread pool,
    # whose hand-offs cost more than the indexing itself at a thousand objects.
    @kopf.index(GROUP, VERSION, POOLS, id="pool_index", registry=registry)
    async def pool_index(*, namespace: str | None, name: str, uid: str, meta: kopf.Meta,
                         spec: kopf.Spec, status: kopf.Status, memo: kopf.Memo,
                         **_: Any) -> dict[ImageKey, PoolEntry]:
        # Called on every event of the pool, its own status writes included; what it
        # reads changes only with the generation or the two status fields it indexes.
        version = (meta.get("generation"), status.get("imageId"),
                   str(status.get("admittedNodes")))
        cached = memo.get("pool_index")
        if cached is not None and cached[0] == version:
            return cast(dict[ImageKey, PoolEntry], cached[1])
        entry = pool_entry_of(namespace, name, uid, meta, spec, status, settings.subscription_id)
        memo["pool_index"] = (version, entry)
        return entry

    @kopf.index(GROUP, VERSION, IMAGES, id="image_index", registry=registry)
    async def image_index(*, namespace: str | None, name: str, meta: kopf.Meta,
                          spec: kopf.Spec, status: kopf.Status,
                          **_: Any) -> dict[Key, ImageInfo]:
        return image_info_of(namespace, name, meta, spec, status, settings.subscription_id)

    # Pools waiting for an image do not poll it: they sleep until it changes. Kopf runs
    # event handlers after the indexers, so a woken pool already sees the change.
    @kopf.on.event(GROUP, VERSION, IMAGES, id=WAKE_POOLS, registry=registry)
    async def wake_pools(*, type: str | None, namespace: str | None, name: str, uid: str,
                         meta: kopf.Meta, spec: kopf.Spec, status: kopf.Status,
                         **kwargs: Any) -> None:
        info = None if type == "DELETED" else image_info(
            name, meta, spec, status, default_subscription=settings.subscription_id)
        runtime.image_watch.changed(uid, info, [e.uid for e in pools_naming(
            kwargs["pool_index"], namespace, name)])

    # Each object gets a daemon, not a timer: it sleeps until the next pass is due (an
    # edit or a nudge wakes it). A thousand timers ticking each poll interval to find
    # nothing due cost more CPU than the passes themselves. Cancelled at once on deletion
    # and exit: a pass is safe to interrupt (nothing is remembered until its status is
    # written).
    def _daemon(plural: str, handler_id: str, run_pass: Pass,
                at_most: float | None = None) -> None:
        @kopf.daemon(GROUP, VERSION, plural, id=handler_id, cancellation_timeout=10.0,
                     registry=registry)
        async def daemon(*, name: str, namespace: str | None, spec: kopf.Spec,
                         body: kopf.Body, uid: str, stopped: kopf.DaemonStopped,
                         **kwargs: Any) -> None:
            try:
                while not stopped:
                    await runtime.scheduler.until_due(uid, at_most)
                    await run_pass(name, namespace, spec, body, uid, kwargs, force=False)
            except asyncio.CancelledError:
                # Stopped (deletion, exit) asleep or mid-pass: a normal end. A pass is
                # safe to cut short: its status is written only at its end.
                return

    # --- ManagedImage -----------------------------------------------------------------

    def image_users(namespace: str | None, name: str, indexes: Mapping[str, Any]) -> Users:
        image = lookup_image(indexes["image_index"], namespace, name)
        return users_of(indexes["pool_index"], namespace, name, image)

    def image_context(namespace: str | None, name: str, uid: str, body: kopf.Body,
                      indexes: Mapping[str, Any]) -> ImageContext:
        users = image_users(namespace, name, indexes)
        return ImageContext(
            owner=owner_of(runtime.cluster_id, "ManagedImage", namespace, name, uid),
            namespace=namespace, adopt=_adopting(body), users=users.describe(),
            accounts=accounts_of(users, namespace, settings.batch_accounts),
            status=runtime.memory.status_of(uid, body))

    async def image_pass(name: str, namespace: str | None, spec: kopf.Spec, body: kopf.Body,
                         uid: str, indexes: Mapping[str, Any], force: bool) -> None:
        async with runtime.scheduler.lock(uid):
            users = image_users(namespace, name, indexes).describe()
            if (not force and not runtime.scheduler.is_due(uid)) or runtime.scheduler.held_off(uid):
                # Between passes only the reference list can change, and it costs no Azure call.
                status = runtime.memory.status_of(uid, body)
                if list(status.get("usedBy") or []) != users:
                    await _write(IMAGES, body, uid, status, {"usedBy": users})
                return
            if await _paused(IMAGES, body, uid):
                return
            runtime.scheduler.begin_pass(uid)
            started = time.monotonic()
            # Only the Azure calls hold a slot of the namespace's fair share (fairshare.py),
            # not the status write after them: a slow API server never holds an Azure slot.
            # The object's lock is held while queued, which only keeps this object's own
            # next pass waiting (it would queue behind this one anyway); a deletion cancels
            # a daemon's wait at once.
            async with _identity(namespace) as identity, runtime.fairshare.slot(namespace):
                outcome = identity if isinstance(identity, Outcome) else await reconcile_image(
                    name, spec, image_context(namespace, name, uid, body, indexes),
                    settings=settings, gateways=identity.images)
            await _finish_pass(IMAGES, outcome, body, uid, started)

    @kopf.on.resume(GROUP, VERSION, IMAGES, id="reconcile_managedimage", registry=registry)
    @kopf.on.create(GROUP, VERSION, IMAGES, id="reconcile_managedimage", registry=registry)
    @kopf.on.update(GROUP, VERSION, IMAGES, id="reconcile_managedimage", registry=registry)
    async def reconcile_managedimage(*, name: str, namespace: str | None, spec: kopf.Spec,
                                     body: kopf.Body, uid: str,
                                     **kwargs: Any) -> None:
        await image_pass(name, namespace, spec, body, uid, kwargs, force=True)

    # Its daemon also wakes each poll interval to keep `usedBy` in step with the pools
    # naming it; an LRO is still polled when due, not at the next tick.
    _daemon(IMAGES, "managedimage_daemon", image_pass, at_most=settings.poll_interval)

    @kopf.on.delete(GROUP, VERSION, IMAGES, id="delete_managedimage", registry=registry)
    async def delete_managedimage(*, name: str, namespace: str | None, spec: kopf.Spec,
                                  body: kopf.Body, uid: str,
                                  **kwargs: Any) -> None:
        async with runtime.scheduler.lock(uid):
            started = time.monotonic()
            async with _identity(namespace) as identity, runtime.fairshare.slot(namespace):
                outcome = identity if isinstance(identity, Outcome) else \
                    await reconcile_image_deletion(
                        name, spec, image_context(namespace, name, uid, body, kwargs),
                        settings=settings, gateways=identity.images)
            await _finish_deletion(IMAGES, outcome, body, uid, started)

    # --- BatchPool --------------------------------------------------------------------

    async def pool_pass(name: str, namespace: str | None, spec: kopf.Spec, body: kopf.Body,
                        uid: str, indexes: Mapping[str, Any],
                        force: bool) -> None:
        async with runtime.scheduler.lock(uid):
            if (not force and not runtime.scheduler.is_due(uid)) or runtime.scheduler.held_off(uid):
                return
            if await _paused(POOLS, body, uid):
                return
            runtime.scheduler.begin_pass(uid)
            ctx = pool_context(name, namespace, uid, spec, body, indexes)
            started = time.monotonic()
            async with _identity(namespace) as identity, runtime.fairshare.slot(namespace):
                outcome = identity if isinstance(identity, Outcome) else await reconcile_pool(
                    name, spec, ctx, settings=settings, gateways=identity.pools)
            await _finish_pass(POOLS, outcome, body, uid, started)

    def pool_context(name: str, namespace: str | None, uid: str, spec: kopf.Spec,
                     body: kopf.Body, indexes: Mapping[str, Any]) -> PoolContext:
        image_index: kopf.Index[Key, ImageInfo] = indexes["image_index"]
        ref = ((spec.get("image") or {}).get("managedImageRef") or {}).get("name")
        status = runtime.memory.status_of(uid, body)

        recorded = admitted_of(status)
        quotas = settings.namespace_max_pools is not None or \
            settings.namespace_max_nodes is not None

        def claim(me: PoolDemand, image_ids: frozenset[str]) -> Admission:
            # No await in here: the check and the reservation are one step, so two
            # passes cannot both fit into the same remaining budget.
            mine = runtime.memory.admitted.get(uid, recorded)
            # The whole namespace is walked only when a namespace cap needs it: at a
            # thousand pools a walk per pass was a sixth of the operator's CPU.
            admitted = runtime.memory.admitted
            in_namespace = namespace_pools(indexes["pool_index"], namespace, admitted) \
                if quotas else ({uid: mine} if mine is not None else {})
            verdict = admit(
                me, others=admitted_demands(me.lineage, indexes["pool_index"], image_index,
                                            runtime.memory.admitted) if me.lineage else (),
                namespace_pools=in_namespace,
                image_ids=image_ids, limits=settings.limits,
                max_pools=settings.namespace_max_pools, max_nodes=settings.namespace_max_nodes)
            if verdict.admitted:
                runtime.memory.admit(uid, me.nodes)
            return verdict

        return PoolContext(
            owner=owner_of(runtime.cluster_id, "BatchPool", namespace, name, uid),
            namespace=namespace, adopt=_adopting(body),
            image=lookup_image(image_index, namespace, ref) if isinstance(ref, str) else None,
            had_azure_pool=bool(status.get("resourceId")), claim=claim,
            resize_attempts=int(status.get("resizeAttempts") or 0),
            resize_wait=runtime.scheduler.resize_wait(uid),
            generation=int(body.get("metadata", {}).get("generation") or 0),
            stopped_generation=status.get("resizeStoppedGeneration"),
        )

    @kopf.on.resume(GROUP, VERSION, POOLS, id="reconcile_batchpool", registry=registry)
    @kopf.on.create(GROUP, VERSION, POOLS, id="reconcile_batchpool", registry=registry)
    @kopf.on.update(GROUP, VERSION, POOLS, id="reconcile_batchpool", registry=registry)
    async def reconcile_batchpool(*, name: str, namespace: str | None, spec: kopf.Spec,
                                  body: kopf.Body, uid: str,
                                  **kwargs: Any) -> None:
        await pool_pass(name, namespace, spec, body, uid, kwargs, force=True)

    _daemon(POOLS, "batchpool_daemon", pool_pass)

    @kopf.on.delete(GROUP, VERSION, POOLS, id="delete_batchpool", registry=registry)
    async def delete_batchpool(*, name: str, namespace: str | None, spec: kopf.Spec,
                               body: kopf.Body, uid: str, **kwargs: Any) -> None:
        async with runtime.scheduler.lock(uid):
            started = time.monotonic()
            async with _identity(namespace) as identity, runtime.fairshare.slot(namespace):
                outcome = identity if isinstance(identity, Outcome) else \
                    await reconcile_pool_deletion(
                        name, spec, pool_context(name, namespace, uid, spec, body, kwargs),
                        settings=settings, pools=identity.pools.pools)
            await _finish_deletion(POOLS, outcome, body, uid, started)

    def _adopting(body: kopf.Body) -> bool:
        annotations = body.get("metadata", {}).get("annotations") or {}
        return str(annotations.get(ADOPT_ANNOTATION, "")).lower() == "true"

    @contextlib.asynccontextmanager
    async def _identity(namespace: str | None) -> AsyncIterator[Identity | Outcome]:
        """The namespace's identity, held for the pass, or the outcome saying why not."""
        async with contextlib.AsyncExitStack() as stack:
            try:
                found: Identity | Outcome = await stack.enter_async_context(
                    runtime.identities.identity(namespace))
            except SecretError as exc:
                found = credential_outcome(str(exc), settings)
            yield found

    async def _write(plural: str, body: kopf.Body, uid: str, status: dict[str, Any],
                     changes: dict[str, Any]) -> None:
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
                                          delay=settings.poll_interval) from exc
        runtime.memory.remember_status(uid, {**status, **changes})

    async def _apply(plural: str, outcome: Outcome, body: kopf.Body, uid: str) -> None:
        status = runtime.memory.status_of(uid, body)
        meta = body.get("metadata", {})
        changes, changed = status_changes(outcome, generation=meta.get("generation"),
                                          status=status)
        await _write(plural, body, uid, status, changes)
        events, warned = events_to_post(outcome, runtime.memory.warned(uid))
        runtime.memory.remember_warned(uid, warned)
        post_events(events, body)
        emit(pass_log(KINDS[plural], meta.get("namespace"), meta["name"], outcome, events, changed))

    async def _paused(plural: str, body: kopf.Body, uid: str) -> bool:
        """`batchimage.dev/paused: "true"` stops Azure calls (not deletion) until removed."""
        outcome = pause_outcome(body, runtime.memory.status_of(uid, body))
        if outcome is not None:
            await _apply(plural, outcome, body, uid)
            runtime.scheduler.schedule(uid, outcome.requeue)
        return is_paused(body)

    async def _finish_pass(plural: str, outcome: Outcome, body: kopf.Body, uid: str,
                           started: float) -> None:
        await _apply(plural, outcome, body, uid)
        if "admittedNodes" in outcome.status:
            nodes = outcome.status["admittedNodes"]
            runtime.memory.admit(uid, (nodes["dedicated"], nodes["lowPriority"]) if nodes else None)
        runtime.scheduler.schedule(uid, outcome.requeue)
        if outcome.hold_off:
            runtime.scheduler.hold_off(uid, outcome.hold_off)
        if outcome.next_resize_in is not None:
            runtime.scheduler.resized(uid, outcome.next_resize_in)
        for other in outcome.nudge:
            runtime.scheduler.nudge(other)
        runtime.metrics.reconciled(KINDS[plural], result_of(outcome), time.monotonic() - started)
        ready = next((c.status for c in outcome.conditions if c.type == "Ready"), "Unknown")
        runtime.metrics.object_ready(uid, KINDS[plural], ready)
        runtime.metrics.passed(uid, KINDS[plural], body, runtime.memory.status_of(uid, body),
                               outcome)

    async def _finish_deletion(plural: str, outcome: Outcome, body: kopf.Body, uid: str,
                               started: float) -> None:
        await _apply(plural, outcome, body, uid)
        runtime.metrics.reconciled(KINDS[plural], result_of(outcome), time.monotonic() - started)
        if not outcome.done:
            raise kopf.TemporaryError(WAITING + (outcome.message or "in progress"),
                                      delay=outcome.requeue or settings.poll_interval)
        runtime.forget(uid)
        runtime.metrics.object_ready(uid, KINDS[plural], None)

    return runtime
