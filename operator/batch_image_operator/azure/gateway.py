"""The operator's only door to Azure: small async calls that speak ARM-shaped dicts.

Every call takes parsed ResourceIds, never raw strings from a spec. Long operations
are started with ``polling=False`` and observed later by GET, so no handler waits.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from azure.core import MatchConditions
from azure.mgmt.batch.models import Pool
from azure.mgmt.compute import models as cm

from ..models.armid import ResourceId
from .clients import AzureClients
from .errors import AzureError as AzureError  # re-exported: the reconcilers catch it here
from .errors import azure_errors


def as_dict(obj: Any) -> dict[str, Any]:
    return dict(obj.as_dict()) if hasattr(obj, "as_dict") else dict(obj)


# Compute resource types the operator touches, by their ARM type path.
_OPS: dict[tuple[str, ...], tuple[str, type[Any]]] = {
    ("images",): ("images", cm.Image),
    ("snapshots",): ("snapshots", cm.Snapshot),
    ("virtualmachines",): ("virtual_machines", cm.VirtualMachine),
    ("galleries",): ("galleries", cm.Gallery),
    ("galleries", "images"): ("gallery_images", cm.GalleryImage),
    ("galleries", "images", "versions"): ("gallery_image_versions", cm.GalleryImageVersion),
}


class ComputeGateway:
    """GET / PUT / DELETE of the Compute resources above, addressed by parsed ids."""

    def __init__(self, clients: AzureClients) -> None:
        self._clients = clients

    def _op(self, rid: ResourceId) -> tuple[Any, str, type[Any], list[str]]:
        if rid.namespace.lower() != "microsoft.compute" or rid.types not in _OPS:
            raise ValueError(f"unsupported resource type for {rid}")
        attr, model = _OPS[rid.types]
        ops = getattr(self._clients.compute(rid.subscription_id), attr)
        return ops, attr, model, [rid.resource_group, *(n for _, n in rid.path)]

    async def get(self, rid: ResourceId) -> dict[str, Any] | None:
        ops, attr, _, args = self._op(rid)
        kwargs: dict[str, Any] = {}
        if attr == "gallery_image_versions":
            kwargs["expand"] = "ReplicationStatus"
        with azure_errors(f"{attr}.get", missing_ok=True):
            return as_dict(await ops.get(*args, **kwargs))
        return None

    async def exists(self, rid: ResourceId) -> bool:
        return await self.get(rid) is not None

    def retry_after(self, rid: ResourceId) -> float:
        """How often the resource's running LRO asked to be polled (0: no ask)."""
        return self._clients.retry_after(str(rid))

    async def begin_put(self, rid: ResourceId, body: Mapping[str, Any]) -> dict[str, Any]:
        ops, attr, model, args = self._op(rid)
        with azure_errors(f"{attr}.put"):
            poller = await ops.begin_create_or_update(*args, model(dict(body)), polling=False)
            return as_dict(await poller.result())

    async def begin_delete(self, rid: ResourceId) -> None:
        ops, attr, _, args = self._op(rid)
        with azure_errors(f"{attr}.delete", missing_ok=True):
            await ops.begin_delete(*args, polling=False)


async def _raw_json(chunks: AsyncIterator[bytes]) -> dict[str, Any]:
    """The ARM JSON of a ``stream=True`` call: the generated models cost more to build
    (and turn back into dicts) than the rest of a pool's pass, at a thousand pools."""
    body = json.loads(b"".join([chunk async for chunk in chunks]))
    return dict(body) if isinstance(body, dict) else {}


class PoolGateway:
    def __init__(self, clients: AzureClients) -> None:
        self._clients = clients

    @staticmethod
    def _parts(rid: ResourceId) -> tuple[str, str, str]:
        return rid.resource_group, rid.path[0][1], rid.name

    async def get(self, rid: ResourceId) -> dict[str, Any] | None:
        with azure_errors("pools.get", missing_ok=True):
            return await _raw_json(await self._clients.batch(rid.subscription_id).pool.get(
                *self._parts(rid), stream=True))
        return None

    async def create(self, rid: ResourceId, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create only: If-None-Match makes a pool made meanwhile by anyone else a 412
        (classified as a conflict: the next pass reads it), never an overwrite."""
        with azure_errors("pools.create"):
            return await _raw_json(await self._clients.batch(rid.subscription_id).pool.create(
                *self._parts(rid), dict(body), match_condition=MatchConditions.IfMissing,
                stream=True))

    async def update(self, rid: ResourceId, body: Mapping[str, Any],
                     etag: str | None = None) -> dict[str, Any]:
        """With the etag of the pool read (and judged ours) in this pass, a pool changed
        meanwhile is a 412, not overwritten."""
        with azure_errors("pools.update"):
            pool = await self._clients.batch(rid.subscription_id).pool.update(
                *self._parts(rid), Pool(dict(body)), etag=etag,
                match_condition=MatchConditions.IfNotModified if etag else None)
        return as_dict(pool)

    def retry_after(self, rid: ResourceId) -> float:
        return self._clients.retry_after(str(rid))

    async def begin_delete(self, rid: ResourceId) -> None:
        with azure_errors("pools.delete", missing_ok=True):
            await self._clients.batch(rid.subscription_id).pool.begin_delete(
                *self._parts(rid), polling=False)
