"""The operator's only door to Azure: small async calls that speak ARM-shaped dicts.

Every call takes parsed ResourceIds, never raw strings from a spec. Long operations
are started with ``polling=False`` and observed later by GET, so no handler waits.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from azure.core.exceptions import AzureError as CoreError
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
)
from azure.mgmt.batch.models import Pool
from azure.mgmt.compute import models as cm

from ..models.armid import ResourceId
from ..planning.errors import Classified, classify
from .clients import AzureClients


class AzureError(Exception):
    """An Azure failure, classified; str() is safe for status and events."""

    def __init__(self, operation: str, info: Classified) -> None:
        self.operation = operation
        self.info = info
        super().__init__(f"{operation}: {info.code or info.kind.value}: {info.message}")


def wrap_http_error(operation: str, exc: CoreError) -> AzureError:
    """Classify any azure-core error; no response (connection failures) is transient."""
    if isinstance(exc, ClientAuthenticationError):
        # The token request itself was refused (AAD answers 400 invalid_client).
        detail = str(exc.message or "credential refused").splitlines()[0][:300]
        return AzureError(operation, classify(401, "AuthenticationFailed",
                                              f"Azure AD refused the credential: {detail}"))
    if not isinstance(exc, HttpResponseError):
        text = str(exc.message or type(exc).__name__).splitlines()[0][:300]
        return AzureError(operation, classify(None, "ServiceUnavailable", text))
    status = exc.status_code
    code = getattr(exc.error, "code", None) if exc.error else None
    message = getattr(exc.error, "message", None) if exc.error else None
    retry_after: float | None = None
    headers = getattr(exc.response, "headers", None) or {}
    raw = headers.get("Retry-After")
    if raw and str(raw).isdigit():
        retry_after = float(raw)
    text = str(message or exc.reason or "request failed").splitlines()[0][:500]
    return AzureError(operation, classify(status, code, text, retry_after))


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
        try:
            return as_dict(await ops.get(*args, **kwargs))
        except ResourceNotFoundError:
            return None
        except CoreError as exc:
            if getattr(exc, "status_code", None) == 404:
                return None
            raise wrap_http_error(f"{attr}.get", exc) from exc

    async def exists(self, rid: ResourceId) -> bool:
        return await self.get(rid) is not None

    def retry_after(self, rid: ResourceId) -> float:
        """How often the resource's running LRO asked to be polled (0: no ask)."""
        return self._clients.retry_after(str(rid))

    async def begin_put(self, rid: ResourceId, body: Mapping[str, Any]) -> dict[str, Any]:
        ops, attr, model, args = self._op(rid)
        try:
            poller = await ops.begin_create_or_update(*args, model(dict(body)), polling=False)
            return as_dict(await poller.result())
        except CoreError as exc:
            raise wrap_http_error(f"{attr}.put", exc) from exc

    async def begin_delete(self, rid: ResourceId) -> None:
        ops, attr, _, args = self._op(rid)
        try:
            await ops.begin_delete(*args, polling=False)
        except ResourceNotFoundError:
            return
        except CoreError as exc:
            if getattr(exc, "status_code", None) == 404:
                return
            raise wrap_http_error(f"{attr}.delete", exc) from exc


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
        try:
            return await _raw_json(await self._clients.batch(rid.subscription_id).pool.get(
                *self._parts(rid), stream=True))
        except ResourceNotFoundError:
            return None
        except CoreError as exc:
            if getattr(exc, "status_code", None) == 404:
                return None
            raise wrap_http_error("pools.get", exc) from exc

    async def create(self, rid: ResourceId, body: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return await _raw_json(await self._clients.batch(rid.subscription_id).pool.create(
                *self._parts(rid), dict(body), stream=True))
        except CoreError as exc:
            raise wrap_http_error("pools.create", exc) from exc

    async def update(self, rid: ResourceId, body: Mapping[str, Any]) -> dict[str, Any]:
        try:
            pool = await self._clients.batch(rid.subscription_id).pool.update(
                *self._parts(rid), Pool(dict(body)))
        except CoreError as exc:
            raise wrap_http_error("pools.update", exc) from exc
        return as_dict(pool)

    def retry_after(self, rid: ResourceId) -> float:
        return self._clients.retry_after(str(rid))

    async def begin_delete(self, rid: ResourceId) -> None:
        try:
            await self._clients.batch(rid.subscription_id).pool.begin_delete(
                *self._parts(rid), polling=False)
        except ResourceNotFoundError:
            return
        except CoreError as exc:
            if getattr(exc, "status_code", None) == 404:
                return
            raise wrap_http_error("pools.delete", exc) from exc
