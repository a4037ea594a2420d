"""Strict parsing of Azure Resource Manager ids.

Nothing taken from a spec is spliced into a URL: ids are split into validated
segments and only those segments reach the SDK, which escapes them again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_RESOURCE_GROUP = re.compile(r"^[-A-Za-z0-9_.()]{0,89}[-A-Za-z0-9_()]$")
# Names of Compute/Batch child resources: no separators, no dot-only names.
_NAME = re.compile(r"^[A-Za-z0-9_][-A-Za-z0-9_.]{0,79}$")
_NAMESPACE = re.compile(r"^[A-Za-z][A-Za-z0-9]*\.[A-Za-z][A-Za-z0-9.]*$")
_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


class InvalidResourceId(ValueError):
    """An ARM id that does not have the strict shape we accept."""


@dataclass(frozen=True)
class ResourceId:
    subscription_id: str
    resource_group: str
    namespace: str
    # (type, name) pairs from the top-level resource down, e.g.
    # (("galleries", "g"), ("images", "d"), ("versions", "1.0.0")).
    path: tuple[tuple[str, str], ...]

    @property
    def name(self) -> str:
        return self.path[-1][1]

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(t.lower() for t, _ in self.path)

    def __str__(self) -> str:
        segments = "/".join(f"{t}/{n}" for t, n in self.path)
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/{self.namespace}/{segments}"
        )


def is_guid(value: str) -> bool:
    return bool(_GUID.match(value))


def valid_resource_group(value: str) -> bool:
    return bool(_RESOURCE_GROUP.match(value))


def valid_name(value: str) -> bool:
    return bool(_NAME.match(value)) and value not in {".", ".."}


def parse_resource_id(raw: str, *, namespace: str | None = None,
                      types: tuple[str, ...] | None = None) -> ResourceId:
    """Parse ``raw`` or raise InvalidResourceId; optionally require namespace and types."""
    if not isinstance(raw, str) or any(c in raw for c in "?#%\\ \t\r\n"):
        raise InvalidResourceId(f"not a plain ARM id: {raw!r}")
    parts = raw.split("/")
    if len(parts) < 9 or parts[0] != "" or len(parts) % 2 == 0:
        raise InvalidResourceId(f"malformed ARM id: {raw!r}")
    if parts[1].lower() != "subscriptions" or parts[3].lower() != "resourcegroups" \
            or parts[5].lower() != "providers":
        raise InvalidResourceId(f"malformed ARM id: {raw!r}")
    sub, rg, ns = parts[2], parts[4], parts[6]
    if not is_guid(sub):
        raise InvalidResourceId(f"subscription id is not a GUID in {raw!r}")
    if not valid_resource_group(rg):
        raise InvalidResourceId(f"invalid resource group {rg!r}")
    if not _NAMESPACE.match(ns):
        raise InvalidResourceId(f"invalid provider namespace {ns!r}")
    rest = parts[7:]
    pairs: list[tuple[str, str]] = []
    for i in range(0, len(rest), 2):
        rtype, name = rest[i], rest[i + 1]
        if not _TYPE.match(rtype) or not valid_name(name):
            raise InvalidResourceId(f"invalid segment {rtype}/{name} in {raw!r}")
        pairs.append((rtype, name))
    rid = ResourceId(sub, rg, ns, tuple(pairs))
    if namespace is not None and ns.lower() != namespace.lower():
        raise InvalidResourceId(f"{raw!r} is not a {namespace} resource")
    if types is not None and rid.types != tuple(t.lower() for t in types):
        raise InvalidResourceId(f"{raw!r} is not a {namespace}/{'/'.join(types)} id")
    return rid


def image_id(subscription_id: str, resource_group: str, name: str) -> ResourceId:
    return ResourceId(subscription_id, resource_group, "Microsoft.Compute", (("images", name),))


def pool_id(subscription_id: str, resource_group: str, account: str, pool: str) -> ResourceId:
    return ResourceId(subscription_id, resource_group, "Microsoft.Batch",
                      (("batchAccounts", account), ("pools", pool)))
