"""Wire Kopf to the reconcilers. Registered at startup, so nothing reads the env at import.

Each kind gets: create/update/resume handlers that run one reconcile pass, a daemon
that runs the next pass when it is due (operation in flight, or drift check) and a
delete handler. A ManagedImage's daemon also wakes each poll interval to keep `usedBy`
in step with its pools. Passes for one object are serialised by a per-object lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any, Protocol, cast

import aiohttp
import kopf

from .. import GROUP, VERSION
from ..config import Settings
from ..kube.api import KubeApi, KubeApiError
from ..kube.session import bounded_session
from ..models.references import ImageInfo
from ..planning.references import image_info
from ..reconcilers.images import reconcile_image, reconcile_image_deletion
from ..reconcilers.pools import reconcile_pool, reconcile_pool_deletion
from .contexts import image_context, image_users, pool_context, used_by
from .indexes import (
    ImageKey,
    Key,
    PoolEntry,
    image_info_of,
    images_by_lineage,
    pool_entry_of,
    pools_naming,
)
from .kopfconfig import IMAGES, POOLS, WAKE_POOLS, configure_kopf
from .passes import Step, run_deletion, run_pass, write_status
from .runtime import Runtime

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

    @kopf.index(GROUP, VERSION, IMAGES, id="lineage_index", registry=registry)
    async def lineage_index(*, namespace: str | None, name: str, meta: kopf.Meta,
                            spec: kopf.Spec, status: kopf.Status, **_: Any) -> dict[str, Key]:
        return images_by_lineage(namespace, name, meta, spec, status, settings.subscription_id)

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
    def _daemon(plural: str, handler_id: str, kind_pass: Pass,
                at_most: float | None = None) -> None:
        @kopf.daemon(GROUP, VERSION, plural, id=handler_id, cancellation_timeout=10.0,
                     registry=registry)
        async def daemon(*, name: str, namespace: str | None, spec: kopf.Spec,
                         body: kopf.Body, uid: str, stopped: kopf.DaemonStopped,
                         **kwargs: Any) -> None:
            try:
                while not stopped:
                    await runtime.scheduler.until_due(uid, at_most)
                    await kind_pass(name, namespace, spec, body, uid, kwargs, force=False)
            except asyncio.CancelledError:
                # Stopped (deletion, exit) asleep or mid-pass: a normal end. A pass is
                # safe to cut short: its status is written only at its end.
                return

    # --- ManagedImage -----------------------------------------------------------------

    async def image_pass(name: str, namespace: str | None, spec: kopf.Spec, body: kopf.Body,
                         uid: str, indexes: Mapping[str, Any], force: bool) -> None:
        async def between() -> None:
            # Between passes only the reference list can change, and it costs no Azure call.
            status = runtime.memory.status_of(uid, body)
            users = used_by(runtime, uid, image_users(namespace, name, indexes), status)
            if list(status.get("usedBy") or []) != users:
                await write_status(runtime, IMAGES, body, uid, status, {"usedBy": users})

        def prepare() -> Step:
            return lambda identity: reconcile_image(
                name, spec, image_context(runtime, namespace, name, uid, body, indexes),
                settings=settings, gateways=identity.images)

        await run_pass(runtime, IMAGES, body, uid, namespace, prepare, force=force,
                       between=between)

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
        await run_deletion(runtime, IMAGES, body, uid, namespace, lambda identity:
                           reconcile_image_deletion(
                               name, spec,
                               image_context(runtime, namespace, name, uid, body, kwargs),
                               settings=settings, gateways=identity.images))

    # --- BatchPool --------------------------------------------------------------------

    async def pool_pass(name: str, namespace: str | None, spec: kopf.Spec, body: kopf.Body,
                        uid: str, indexes: Mapping[str, Any],
                        force: bool) -> None:
        def prepare() -> Step:
            ctx = pool_context(runtime, name, namespace, uid, spec, body, indexes)
            return lambda identity: reconcile_pool(name, spec, ctx, settings=settings,
                                                   gateways=identity.pools)

        await run_pass(runtime, POOLS, body, uid, namespace, prepare, force=force)

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
        await run_deletion(runtime, POOLS, body, uid, namespace, lambda identity:
                           reconcile_pool_deletion(
                               name, spec,
                               pool_context(runtime, name, namespace, uid, spec, body, kwargs),
                               settings=settings, pools=identity.pools.pools))

    return runtime
