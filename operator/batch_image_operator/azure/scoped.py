"""Gateways bound to one pass's gated scope: a call outside it fails before any request.

The gate (planning/scope.py) decides what a pass may touch; these wrappers make that
decision binding, so a reconciler bug cannot reach an id the gate never saw.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, Protocol, TypeVar

from ..models.armid import ResourceId
from ..planning.scope import AzureScope
from .dataplane import BatchAccountGateway, account_of
from .gateway import ComputeGateway, PoolGateway


class OutOfScope(Exception):
    """A pass tried to call Azure for an id its gate did not admit (a bug, not input)."""

    def __init__(self, op: str, rid: ResourceId) -> None:
        super().__init__(f"{op} of {rid} is outside this pass's gated scope")


def _check(scope: AzureScope, op: str, rid: ResourceId) -> None:
    if not scope.may(op, rid):
        raise OutOfScope(op, rid)


class _Resources(Protocol):
    """What a Compute and a Batch pool gateway both offer."""

    async def get(self, rid: ResourceId) -> dict[str, Any] | None: ...
    async def begin_delete(self, rid: ResourceId) -> None: ...
    def retry_after(self, rid: ResourceId) -> float: ...


Inner = TypeVar("Inner", bound=_Resources)


class _Scoped(Generic[Inner]):
    """Reads, deletes and Retry-After of one resource gateway, bound to a scope."""

    def __init__(self, inner: Inner, scope: AzureScope) -> None:
        self._inner, self._scope = inner, scope

    async def get(self, rid: ResourceId) -> dict[str, Any] | None:
        _check(self._scope, "read", rid)
        return await self._inner.get(rid)

    async def begin_delete(self, rid: ResourceId) -> None:
        _check(self._scope, "delete", rid)
        await self._inner.begin_delete(rid)

    def retry_after(self, rid: ResourceId) -> float:
        """No Azure call: how often the id's running LRO asked to be polled."""
        return self._inner.retry_after(rid)


class ScopedCompute(_Scoped[ComputeGateway]):
    async def exists(self, rid: ResourceId) -> bool:
        return await self.get(rid) is not None

    async def begin_put(self, rid: ResourceId, body: Mapping[str, Any]) -> dict[str, Any]:
        _check(self._scope, "write", rid)
        return await self._inner.begin_put(rid, body)


class ScopedPools(_Scoped[PoolGateway]):
    async def create(self, rid: ResourceId, body: Mapping[str, Any]) -> dict[str, Any]:
        _check(self._scope, "write", rid)
        return await self._inner.create(rid, body)

    async def update(self, rid: ResourceId, body: Mapping[str, Any],
                     etag: str | None = None) -> dict[str, Any]:
        _check(self._scope, "write", rid)
        return await self._inner.update(rid, body, etag=etag)


class ScopedAccounts:
    def __init__(self, inner: BatchAccountGateway, scope: AzureScope) -> None:
        self._inner, self._scope = inner, scope
        self._accounts = {str(a).lower() for a in scope.accounts}

    def _check_account(self, rid: ResourceId) -> None:
        account = account_of(rid)
        if str(account).lower() not in self._accounts:
            raise OutOfScope("read", account)

    async def supported_images(self, rid: ResourceId) -> list[dict[str, Any]]:
        self._check_account(rid)
        return await self._inner.supported_images(rid)

    async def list_pools(self, account: ResourceId) -> list[dict[str, Any]]:
        self._check_account(account)
        return await self._inner.list_pools(account)

    async def node_counts(self, pool: ResourceId) -> dict[str, Any] | None:
        self._check_account(pool)
        return await self._inner.node_counts(pool)
