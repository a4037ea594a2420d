"""Parsing ARM request paths and resource ids (case-insensitive, as ARM is)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Canonical spelling of the types this emulator serves, keyed by lower case.
CANONICAL_TYPES = {
    "microsoft.compute/images": "Microsoft.Compute/images",
    "microsoft.compute/snapshots": "Microsoft.Compute/snapshots",
    "microsoft.compute/disks": "Microsoft.Compute/disks",
    "microsoft.compute/virtualmachines": "Microsoft.Compute/virtualMachines",
    "microsoft.compute/galleries": "Microsoft.Compute/galleries",
    "microsoft.compute/galleries/images": "Microsoft.Compute/galleries/images",
    "microsoft.compute/galleries/images/versions": "Microsoft.Compute/galleries/images/versions",
    "microsoft.batch/batchaccounts": "Microsoft.Batch/batchAccounts",
    "microsoft.batch/batchaccounts/pools": "Microsoft.Batch/batchAccounts/pools",
}
RESOURCE_GROUP_TYPE = "Microsoft.Resources/resourceGroups"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.()-]{0,89}$")


@dataclass
class Route:
    """A request path split into its ARM parts.

    ``/subscriptions/s/resourceGroups/g/providers/Microsoft.Batch/batchAccounts/a/pools/p/stopResize``
    gives namespace ``Microsoft.Batch``, types ``[batchAccounts, pools]``, names ``[a, p]``
    and action ``stopResize``.
    """

    subscription: str
    resource_group: str | None = None
    namespace: str | None = None
    types: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    action: str | None = None
    # /subscriptions/{s}/resourcegroups (collection) vs /subscriptions/{s}/resourcegroups/{g}
    resource_groups_collection: bool = False

    @property
    def type_key(self) -> str:
        return f"{self.namespace}/{'/'.join(self.types)}".lower()

    @property
    def is_collection(self) -> bool:
        return len(self.names) < len(self.types)


def parse(path: str) -> Route | None:
    parts = [p for p in path.split("/") if p]
    if len(parts) < 2 or parts[0].lower() != "subscriptions":
        return None
    route = Route(subscription=parts[1])
    rest = parts[2:]
    if rest and rest[0].lower() == "resourcegroups":
        if len(rest) == 1:
            route.resource_groups_collection = True
            return route
        route.resource_group = rest[1]
        rest = rest[2:]
    if not rest:
        return route if route.resource_group else None
    if rest[0].lower() != "providers" or len(rest) < 3:
        return None
    route.namespace = rest[1]
    rest = rest[2:]
    # Alternate type/name segments; a trailing odd segment after a full pair is an action.
    while rest:
        route.types.append(rest[0])
        if len(rest) >= 2:
            route.names.append(rest[1])
        rest = rest[2:]
    if (
        len(route.types) >= 2
        and len(route.names) == len(route.types) - 1
        and route.type_key not in CANONICAL_TYPES
    ):
        route.action = route.types.pop()
    return route


@dataclass(frozen=True)
class ResourceId:
    subscription: str
    resource_group: str
    type: str  # canonical, e.g. Microsoft.Compute/images
    names: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.names[-1]

    def __str__(self) -> str:
        namespace, *types = self.type.split("/")
        tail = "/".join(f"{t}/{n}" for t, n in zip(types, self.names, strict=True))
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/{namespace}/{tail}"
        )


def parse_id(resource_id: str) -> ResourceId | None:
    """A full ARM id of a type this emulator knows, or None (strictly: no extra segments)."""
    if not resource_id.startswith("/") or "?" in resource_id or "#" in resource_id:
        return None
    route = parse(resource_id)
    if route is None or route.resource_group is None or route.action or route.is_collection:
        return None
    if not route.types:
        return None
    canonical = CANONICAL_TYPES.get(route.type_key)
    if canonical is None:
        return None
    return ResourceId(route.subscription, route.resource_group, canonical, tuple(route.names))


def resource_group_id(subscription: str, resource_group: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
