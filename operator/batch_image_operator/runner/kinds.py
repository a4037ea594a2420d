"""The two kinds, as the pass runner takes them (descriptor.py says what each part is)."""

from __future__ import annotations

from typing import Any

from ..models.batchpool import BatchPoolSpec
from ..models.managedimage import ManagedImageSpec
from ..reconcilers.images import MANAGED_IMAGE, ImageContext
from ..reconcilers.pools import BATCH_POOL, PoolContext
from .contexts import image_context, image_users, pool_context, used_by
from .descriptor import Call, KindPass
from .run import write_status
from .runtime import Runtime

IMAGES, POOLS = "managedimages", "batchpools"


async def keep_users(runtime: Runtime, call: Call) -> None:
    """Between passes only an image's `usedBy` can change (its changes coalesced), and it
    costs no Azure call."""
    status = runtime.memory.status_of(call.uid, call.body)
    users = used_by(runtime, call.uid, image_users(call.namespace, call.name, call.indexes),
                    status)
    if list(status.get("usedBy") or []) != users:
        await write_status(runtime, IMAGES, call.body, call.uid, status, {"usedBy": users})


MANAGED_IMAGES: KindPass[ManagedImageSpec, ImageContext] = KindPass(
    IMAGES, MANAGED_IMAGE, image_context, between=keep_users)
BATCH_POOLS: KindPass[BatchPoolSpec, PoolContext] = KindPass(POOLS, BATCH_POOL, pool_context)
KINDS: tuple[KindPass[Any, Any], ...] = (MANAGED_IMAGES, BATCH_POOLS)
