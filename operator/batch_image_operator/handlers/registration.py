"""Wire Kopf to the pass runner. Registered at startup, so nothing reads the env at import.

Each kind (runner/kinds.py) gets the same handlers: create/update/resume ask for a
reconcile pass at once, delete runs deletion passes (runner/run.py does the rest), and
an index keeps each object's body for its passes, which runner/scheduled.py runs when
asked or due (operation in flight, drift check; a ManagedImage also each poll interval,
to keep `usedBy` in step with its pools).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, cast

import aiohttp
import kopf

from .. import GROUP, VERSION
from ..config import Settings
from ..kube.api import KubeApi, KubeApiError
from ..kube.session import bounded_session
from ..models.references import ImageInfo
from ..planning.references import image_info
from ..runner.descriptor import Call, KindPass
from ..runner.indexes import (
    ImageKey,
    Key,
    PoolEntry,
    image_info_of,
    images_by_lineage,
    pool_entry_of,
    pools_naming,
)
from ..runner.kinds import IMAGES, KINDS, POOLS
from ..runner.run import run_deletion
from ..runner.runtime import Runtime
from ..runner.scheduled import ScheduledPasses, body_entry
from .kopfconfig import WAKE_POOLS, configure_kopf

KubeLogin = Callable[..., kopf.ConnectionInfo | None]


def register(registry: kopf.OperatorRegistry, settings: Settings,
             credential_env: Mapping[str, str], kube_login: KubeLogin) -> Runtime:
    """Wire every handler. ``kube_login`` takes Kopf's login kwargs and says how to reach
    the API server (Kopf's login, the status writes and the credential Secrets use it).
    """
    runtime = Runtime(settings, credential_env)
    scheduled = ScheduledPasses(runtime, KINDS)

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
        await scheduled.stop()
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

    for kind in KINDS:
        _register_kind(registry, runtime, scheduled, kind)

    return runtime


def _register_kind(registry: kopf.OperatorRegistry, runtime: Runtime,
                   scheduled: ScheduledPasses, kind: KindPass[Any, Any]) -> None:
    """A kind's handlers: create/update/resume ask for a pass at once (runner/scheduled.py
    runs it, and the next ones when due), delete runs deletion passes until the resource
    is gone."""
    lower = kind.name.lower()

    # Called on every event of the object: its newest body, for its scheduled passes.
    @kopf.index(GROUP, VERSION, kind.plural, id=kind.bodies, registry=registry)
    async def bodies(*, uid: str, body: kopf.Body, **_: Any) -> dict[str, str]:
        return body_entry(uid, body)

    @kopf.on.resume(GROUP, VERSION, kind.plural, id=f"reconcile_{lower}", registry=registry)
    @kopf.on.create(GROUP, VERSION, kind.plural, id=f"reconcile_{lower}", registry=registry)
    @kopf.on.update(GROUP, VERSION, kind.plural, id=f"reconcile_{lower}", registry=registry)
    async def reconcile(*, name: str, namespace: str | None, spec: kopf.Spec, body: kopf.Body,
                        uid: str, **kwargs: Any) -> None:
        scheduled.bind(kwargs)
        scheduled.request(kind, uid, body.get("status"))

    @kopf.on.delete(GROUP, VERSION, kind.plural, id=f"delete_{lower}", registry=registry)
    async def delete(*, name: str, namespace: str | None, spec: kopf.Spec, body: kopf.Body,
                     uid: str, **kwargs: Any) -> None:
        # Its reconcile passes end at once; the deletion pass waits for the object's lock.
        scheduled.bind(kwargs)
        scheduled.cancel(uid)
        await run_deletion(runtime, kind, Call(name, namespace, spec, body, uid, kwargs))
