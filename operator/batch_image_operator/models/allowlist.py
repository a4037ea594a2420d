"""Which Azure scopes each namespace may target. Pure: parsed from the operator's config."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .armid import InvalidResourceId, ResourceId, is_guid, valid_resource_group

DEFAULT_KEY = "*"
# BIO_ALLOWLIST_FILE's value that lifts every restriction: running open is a choice
# someone writes down, never what an unset or empty setting falls back to.
UNRESTRICTED = "unrestricted"


@dataclass(frozen=True)
class Scope:
    subscription_id: str
    resource_group: str | None = None

    def covers(self, rid: ResourceId) -> bool:
        """Same subscription and, when the scope names one, exactly the same resource
        group (ARM names are case-insensitive; `rg-a` never covers `rg-a-evil`)."""
        if rid.subscription_id.lower() != self.subscription_id.lower():
            return False
        return self.resource_group is None or \
            rid.resource_group.lower() == self.resource_group.lower()

    def __str__(self) -> str:
        base = f"/subscriptions/{self.subscription_id}"
        return base + (f"/resourceGroups/{self.resource_group}" if self.resource_group else "")


def parse_scope(raw: str) -> Scope:
    parts = raw.strip().strip("/").split("/")
    if len(parts) == 2 and parts[0].lower() == "subscriptions" and is_guid(parts[1]):
        return Scope(parts[1])
    if (len(parts) == 4 and parts[0].lower() == "subscriptions" and is_guid(parts[1])
            and parts[2].lower() == "resourcegroups" and valid_resource_group(parts[3])):
        return Scope(parts[1], parts[3])
    raise InvalidResourceId(
        f"allow-list scope {raw!r} must be /subscriptions/<guid>[/resourceGroups/<name>]")


@dataclass(frozen=True)
class AllowList:
    """Namespace -> the scopes it may target; a namespace not listed falls back to '*',
    and one with no entry at all may target nothing. Only ``unrestricted()`` allows all."""

    scopes: Mapping[str, tuple[Scope, ...]] = field(default_factory=dict)
    restricted: bool = True

    @classmethod
    def unrestricted(cls) -> AllowList:
        return cls(restricted=False)

    @classmethod
    def parse(cls, data: Any) -> AllowList:
        """An empty document is refused: it reads like a restriction but names no scope."""
        if data is None or data == {}:
            raise InvalidResourceId(
                "allow-list is empty; list the scopes each namespace may target "
                f"(or set BIO_ALLOWLIST_FILE={UNRESTRICTED})")
        if not isinstance(data, Mapping):
            raise InvalidResourceId("allow-list must map namespaces to lists of scopes")
        scopes: dict[str, tuple[Scope, ...]] = {}
        for namespace, raw in data.items():
            if not isinstance(raw, list):
                raise InvalidResourceId(f"allow-list entry for {namespace!r} must be a list")
            scopes[str(namespace)] = tuple(parse_scope(str(s)) for s in raw)
        return cls(scopes)

    def denied(self, namespace: str | None, ids: Iterable[ResourceId]) -> list[ResourceId]:
        """Every one of the ids this namespace may not touch (empty when all are allowed)."""
        if not self.restricted:
            return []
        allowed = self.scopes.get(namespace or "", self.scopes.get(DEFAULT_KEY, ()))
        return [rid for rid in ids if not any(s.covers(rid) for s in allowed)]
