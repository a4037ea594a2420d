"""Strict parsing of Azure Resource Manager ids.

Nothing taken from a spec is spliced into a URL: ids are split into validated
segments and only those segments reach the SDK, which escapes them again.

ARM treats the fixed parts of an id (``resourceGroups``, provider namespaces, resource
types) case-insensitively and Azure itself returns them in mixed case, so they are
matched in any case; known namespaces and types are normalised to Azure's canonical
spelling so that ``str(rid)`` is the same id however it was written.
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
_FORBIDDEN = "?#%\\"
_SHOWN = 160  # characters of a bad id quoted back in an error

# Azure's own spelling of the namespaces and resource types this operator handles.
_CANONICAL: dict[str, tuple[str, dict[str, str]]] = {
    ns.lower(): (ns, {t.lower(): t for t in types})
    for ns, types in {
        "Microsoft.Compute": ("images", "snapshots", "disks", "virtualMachines", "galleries",
                              "versions"),
        "Microsoft.Batch": ("batchAccounts", "pools"),
        "Microsoft.Network": ("virtualNetworks", "subnets"),
        "Microsoft.Storage": ("storageAccounts",),
    }.items()
}


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


def canonical(namespace: str, rtype: str | None = None) -> str:
    """Azure's spelling of a known namespace (or of a type within it); else as given."""
    known = _CANONICAL.get(namespace.lower())
    if known is None:
        return rtype if rtype is not None else namespace
    if rtype is None:
        return known[0]
    return known[1].get(rtype.lower(), rtype)


def _shape(namespace: str | None, types: tuple[str, ...] | None) -> str:
    """The id form a caller expects, e.g. /subscriptions/<guid>/.../images/<name>."""
    ns = canonical(namespace) if namespace else "<namespace>"
    rest = "/".join(f"{canonical(ns, t)}/<name>" for t in types) if types else "<type>/<name>"
    return f"/subscriptions/<guid>/resourceGroups/<name>/providers/{ns}/{rest}"


def _quoted(raw: str) -> str:
    text = raw if len(raw) <= _SHOWN else raw[:_SHOWN] + "..."
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
    return f"'{shown}'"


def parse_resource_id(raw: str, *, namespace: str | None = None,
                      types: tuple[str, ...] | None = None) -> ResourceId:
    """Parse ``raw`` or raise InvalidResourceId; optionally require namespace and types.

    The error says, in one sentence, which form was expected and what is wrong."""
    def bad(reason: str) -> InvalidResourceId:
        got = _quoted(raw) if isinstance(raw, str) else f"a {type(raw).__name__}"
        return InvalidResourceId(f"expected {_shape(namespace, types)}, got {got}: {reason}")

    if not isinstance(raw, str):
        raise bad("an ARM id is a string")
    if any(c in raw for c in _FORBIDDEN) or any(c.isspace() for c in raw):
        raise bad("an ARM id may not contain '?', '#', '%', '\\' or whitespace")
    parts = raw.split("/")
    if parts[0] != "" or len(parts) < 2 or parts[1].lower() != "subscriptions":
        raise bad("an ARM id must start with /subscriptions/")
    if "" in parts[1:]:
        raise bad("an ARM id may not have empty segments ('//')")
    if len(parts) < 9:
        raise bad("the id must go on to /resourceGroups/<name>/providers/<namespace>/<type>/<name>")
    if parts[3].lower() != "resourcegroups" or parts[5].lower() != "providers":
        raise bad("the subscription must be followed by /resourceGroups/<name>/providers/")
    if len(parts) % 2 == 0:
        raise bad("every resource type must be followed by exactly one name")
    sub, rg, ns = parts[2], parts[4], parts[6]
    if not is_guid(sub):
        raise bad("the subscription must be a GUID")
    if not valid_resource_group(rg):
        raise bad(f"{_quoted(rg)} is not a resource group name (1-90 letters, digits, '-', '_', "
                  "'.', '(' or ')', not ending in '.')")
    if not _NAMESPACE.match(ns):
        raise bad(f"{_quoted(ns)} is not a provider namespace like Microsoft.Compute")
    rest = parts[7:]
    pairs: list[tuple[str, str]] = []
    for i in range(0, len(rest), 2):
        rtype, name = rest[i], rest[i + 1]
        if not _TYPE.match(rtype):
            raise bad(f"{_quoted(rtype)} is not a resource type (letters and digits)")
        if not valid_name(name):
            raise bad(f"{_quoted(name)} is not a resource name (up to 80 letters, digits, '-', '_' "
                      "or '.', starting with a letter, digit or '_')")
        pairs.append((canonical(ns, rtype), name))
    rid = ResourceId(sub, rg, canonical(ns), tuple(pairs))
    if namespace is not None and ns.lower() != namespace.lower():
        raise bad(f"it names a {rid.namespace} resource, not a {canonical(namespace)} one")
    if types is not None and rid.types != tuple(t.lower() for t in types):
        raise bad(f"it names a {rid.namespace}/{'/'.join(t for t, _ in rid.path)} resource")
    return rid


def image_id(subscription_id: str, resource_group: str, name: str) -> ResourceId:
    return ResourceId(subscription_id, resource_group, "Microsoft.Compute", (("images", name),))


def pool_id(subscription_id: str, resource_group: str, account: str, pool: str) -> ResourceId:
    return ResourceId(subscription_id, resource_group, "Microsoft.Batch",
                      (("batchAccounts", account), ("pools", pool)))
