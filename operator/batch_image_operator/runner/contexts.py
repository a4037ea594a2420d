"""What a pass of each kind knows beyond its spec: its owner mark, its users or its
image (from Kopf's indexes, no API call), its last status and its admission claim."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import kopf

from ..models.references import ImageInfo
from ..planning.limits import Admission, PoolDemand, admit
from ..planning.ownership import ADOPT_ANNOTATION
from ..planning.resizes import resize_again_request
from ..reconcilers.images import ImageContext
from ..reconcilers.policy import owner_of
from ..reconcilers.pools import PoolContext
from .descriptor import Call
from .indexes import (
    Key,
    Users,
    accounts_of,
    admitted_demands,
    admitted_of,
    lookup_image,
    namespace_pools,
    users_of,
)
from .runtime import Runtime


def adopting(body: kopf.Body) -> bool:
    annotations = body.get("metadata", {}).get("annotations") or {}
    return str(annotations.get(ADOPT_ANNOTATION, "")).lower() == "true"


def image_users(namespace: str | None, name: str, indexes: Mapping[str, Any]) -> Users:
    image = lookup_image(indexes["image_index"], namespace, name)
    return users_of(indexes["pool_index"], namespace, name, image)


def used_by(runtime: Runtime, uid: str, users: Users, status: Mapping[str, Any]) -> list[str]:
    """The image's `usedBy` to write now: its users, unless their changes are being
    coalesced (then the list its status has)."""
    return runtime.used_by.shown(uid, users.describe(), list(status.get("usedBy") or []),
                                 time.monotonic())


def image_context(runtime: Runtime, call: Call) -> ImageContext:
    namespace, name, uid, body = call.namespace, call.name, call.uid, call.body
    users = image_users(namespace, name, call.indexes)
    status = runtime.memory.status_of(uid, body)
    return ImageContext(
        owner=owner_of(runtime.cluster_id, "ManagedImage", namespace, name, uid),
        namespace=namespace, adopt=adopting(body), users=users.describe(),
        used_by=used_by(runtime, uid, users, status),
        accounts=accounts_of(users, namespace, runtime.settings.batch_accounts),
        status=status)


def pool_context(runtime: Runtime, call: Call) -> PoolContext:
    namespace, name, uid, spec, body = call.namespace, call.name, call.uid, call.spec, call.body
    indexes, settings, memory = call.indexes, runtime.settings, runtime.memory
    image_index: kopf.Index[Key, ImageInfo] = indexes["image_index"]
    ref = ((spec.get("image") or {}).get("managedImageRef") or {}).get("name")
    status = memory.status_of(uid, body)

    recorded = admitted_of(status)
    quotas = settings.namespace_max_pools is not None or \
        settings.namespace_max_nodes is not None

    def claim(me: PoolDemand, image_ids: frozenset[str]) -> Admission:
        # No await in here: the check and the reservation are one step, so two
        # passes cannot both fit into the same remaining budget.
        mine = memory.admitted.get(uid, recorded)
        # The whole namespace is walked only when a namespace cap needs it: at a
        # thousand pools a walk per pass was a sixth of the operator's CPU.
        in_namespace = namespace_pools(indexes["pool_index"], namespace, memory.admitted) \
            if quotas else ({uid: mine} if mine is not None else {})
        verdict = admit(
            me, others=admitted_demands(me.lineage, indexes["pool_index"], image_index,
                                        indexes["lineage_index"], memory.admitted)
            if me.lineage else (),
            namespace_pools=in_namespace,
            image_ids=image_ids, limits=settings.limits,
            max_pools=settings.namespace_max_pools, max_nodes=settings.namespace_max_nodes)
        if verdict.admitted:
            memory.admit(uid, me.nodes)
        return verdict

    return PoolContext(
        owner=owner_of(runtime.cluster_id, "BatchPool", namespace, name, uid),
        namespace=namespace, adopt=adopting(body),
        image=lookup_image(image_index, namespace, ref) if isinstance(ref, str) else None,
        had_azure_pool=bool(status.get("resourceId")), claim=claim,
        resize_attempts=int(status.get("resizeAttempts") or 0),
        resize_wait=runtime.scheduler.resize_wait(uid),
        generation=int(body.get("metadata", {}).get("generation") or 0),
        stopped_generation=status.get("resizeStoppedGeneration"),
        resize_again=resize_again_request(
            body.get("metadata", {}).get("annotations") or {}, status.get("resizeAgainSeen")),
    )
