"""Small in-memory stand-ins for the Azure gateways, for reconciler unit tests.

They record every call, so a test can assert what a pass sent to Azure (or that it sent
nothing), and hold resources by lower-cased ARM id like Azure does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from batch_image_operator.config import Settings
from batch_image_operator.models.allowlist import AllowList
from batch_image_operator.models.armid import ResourceId
from helpers.ids import SUB

P = f"/subscriptions/{SUB}/resourceGroups"


def settings(**allow: list[str]) -> Settings:
    groups = allow.get("groups")
    allowlist = AllowList.parse({"*": [f"{P}/{g}" for g in groups]}) if groups \
        else AllowList.unrestricted()
    return Settings(subscription_id=SUB, allowlist=allowlist)


class FakeAzure:
    """One store and call log shared by the three fake gateways."""

    def __init__(self) -> None:
        self.resources: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []

    def put(self, rid: ResourceId | str, body: Mapping[str, Any]) -> dict[str, Any]:
        stored = {**dict(body), "id": str(rid)}
        stored.setdefault("properties", {})
        self.resources[str(rid).lower()] = stored
        return stored

    def writes(self) -> list[tuple[str, str]]:
        return [c for c in self.calls if c[0] != "get"]


class _FakeResources:
    """Reads, deletes and Retry-After, the same for Compute resources and Batch pools."""

    def __init__(self, azure: FakeAzure) -> None:
        self.azure = azure

    async def get(self, rid: ResourceId) -> dict[str, Any] | None:
        self.azure.calls.append(("get", str(rid)))
        return self.azure.resources.get(str(rid).lower())

    async def begin_delete(self, rid: ResourceId) -> None:
        self.azure.calls.append(("delete", str(rid)))
        self.azure.resources.pop(str(rid).lower(), None)

    def retry_after(self, rid: ResourceId) -> float:
        return 0.0


class FakeCompute(_FakeResources):
    async def exists(self, rid: ResourceId) -> bool:
        return await self.get(rid) is not None

    async def begin_put(self, rid: ResourceId, body: Mapping[str, Any]) -> dict[str, Any]:
        self.azure.calls.append(("put", str(rid)))
        stored = self.azure.put(rid, body)
        stored["properties"]["provisioningState"] = "Succeeded"
        return stored


class FakePools(_FakeResources):
    async def create(self, rid: ResourceId, body: Mapping[str, Any]) -> dict[str, Any]:
        self.azure.calls.append(("create", str(rid)))
        stored = self.azure.put(rid, body)
        stored["properties"].update(allocationState="Resizing", provisioningState="Succeeded")
        return stored

    async def update(self, rid: ResourceId, body: Mapping[str, Any],
                     etag: str | None = None) -> dict[str, Any]:
        self.azure.calls.append(("update", str(rid)))
        stored = self.azure.resources[str(rid).lower()]
        stored["properties"].update(body["properties"])
        return stored


class FakeAccounts:
    def __init__(self, azure: FakeAzure) -> None:
        self.azure = azure

    async def node_counts(self, pool: ResourceId) -> dict[str, Any] | None:
        self.azure.calls.append(("get", f"nodecounts {pool}"))
        return None

    async def list_pools(self, account: ResourceId) -> list[dict[str, Any]]:
        self.azure.calls.append(("get", f"pools of {account}"))
        prefix = f"{str(account).lower()}/pools/"
        return [dict(v, name=k.rsplit("/", 1)[1]) for k, v in self.azure.resources.items()
                if k.startswith(prefix)]

    async def supported_images(self, rid: ResourceId) -> list[dict[str, Any]]:
        self.azure.calls.append(("get", f"supported images {rid}"))
        return []
