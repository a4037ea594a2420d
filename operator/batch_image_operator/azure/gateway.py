"""The operator's only door to Azure: small async calls that speak ARM-shaped dicts.

Every call takes parsed ResourceIds, never raw strings from a spec. Long operations
are started with ``polling=False`` and observed later by GET, so no handler waits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.batch.models import Pool
from azure.mgmt.compute.models import Image

from ..models.armid import ResourceId
from ..planning.errors import Classified, classify
from .clients import AzureClients


class AzureError(Exception):
    """An Azure failure, classified; str() is safe for status and events."""

    def __init__(self, operation: str, info: Classified) -> None:
        self.operation = operation
        self.info = info
        super().__init__(f"{operation}: {info.code or info.kind.value}: {info.message}")


def wrap_http_error(operation: str, exc: HttpResponseError) -> AzureError:
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


class ImageGateway:
    def __init__(self, clients: AzureClients) -> None:
        self._clients = clients

    async def get(self, rid: ResourceId) -> dict[str, Any] | None:
        try:
            image = await self._clients.compute(rid.subscription_id).images.get(
                rid.resource_group, rid.name)
        except ResourceNotFoundError:
            return None
        except HttpResponseError as exc:
            raise wrap_http_error("images.get", exc) from exc
        return as_dict(image)

    async def begin_create(self, rid: ResourceId, body: Mapping[str, Any]) -> dict[str, Any]:
        try:
            poller = await self._clients.compute(rid.subscription_id).images.begin_create_or_update(
                rid.resource_group, rid.name, Image(dict(body)), polling=False)
            return as_dict(await poller.result())
        except HttpResponseError as exc:
            raise wrap_http_error("images.create", exc) from exc

    async def exists(self, rid: ResourceId) -> bool:
        """Whether a pool's image (managed image or gallery image version) is still there."""
        compute = self._clients.compute(rid.subscription_id)
        try:
            if rid.types == ("images",):
                await compute.images.get(rid.resource_group, rid.name)
            elif rid.types == ("galleries", "images", "versions"):
                await compute.gallery_image_versions.get(
                    rid.resource_group, rid.path[0][1], rid.path[1][1], rid.name)
            elif rid.types == ("galleries", "images"):
                await compute.gallery_images.get(rid.resource_group, rid.path[0][1], rid.name)
            else:
                return True
        except ResourceNotFoundError:
            return False
        except HttpResponseError as exc:
            raise wrap_http_error("images.get", exc) from exc
        return True

    async def begin_delete(self, rid: ResourceId) -> None:
        try:
            await self._clients.compute(rid.subscription_id).images.begin_delete(
                rid.resource_group, rid.name, polling=False)
        except ResourceNotFoundError:
            return
        except HttpResponseError as exc:
            raise wrap_http_error("images.delete", exc) from exc


class PoolGateway:
    def __init__(self, clients: AzureClients) -> None:
        self._clients = clients

    @staticmethod
    def _parts(rid: ResourceId) -> tuple[str, str, str]:
        return rid.resource_group, rid.path[0][1], rid.name

    async def get(self, rid: ResourceId) -> dict[str, Any] | None:
        try:
            pool = await self._clients.batch(rid.subscription_id).pool.get(*self._parts(rid))
        except ResourceNotFoundError:
            return None
        except HttpResponseError as exc:
            if exc.status_code == 404:
                return None
            raise wrap_http_error("pools.get", exc) from exc
        return as_dict(pool)

    async def create(self, rid: ResourceId, body: Mapping[str, Any]) -> dict[str, Any]:
        try:
            pool = await self._clients.batch(rid.subscription_id).pool.create(
                *self._parts(rid), Pool(dict(body)))
        except HttpResponseError as exc:
            raise wrap_http_error("pools.create", exc) from exc
        return as_dict(pool)

    async def update(self, rid: ResourceId, body: Mapping[str, Any]) -> dict[str, Any]:
        try:
            pool = await self._clients.batch(rid.subscription_id).pool.update(
                *self._parts(rid), Pool(dict(body)))
        except HttpResponseError as exc:
            raise wrap_http_error("pools.update", exc) from exc
        return as_dict(pool)

    async def begin_delete(self, rid: ResourceId) -> None:
        try:
            await self._clients.batch(rid.subscription_id).pool.begin_delete(
                *self._parts(rid), polling=False)
        except ResourceNotFoundError:
            return
        except HttpResponseError as exc:
            if exc.status_code == 404:
                return
            raise wrap_http_error("pools.delete", exc) from exc
