"""The owner mark the operator stamps on every Azure resource it creates (pure).

ARM resources (images, gallery versions, captured snapshots) carry it as tags; Batch
pools, which have no tags, as metadata items. ARM tag names may not contain '/', so the
keys use '-' after the group. A resource without the mark was created outside this
operator; one with another object's mark belongs to that object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import GROUP

MARK_PREFIX = f"{GROUP}-"
CLUSTER_KEY = f"{MARK_PREFIX}cluster"
NAMESPACE_KEY = f"{MARK_PREFIX}namespace"
NAME_KEY = f"{MARK_PREFIX}name"
UID_KEY = f"{MARK_PREFIX}uid"
KIND_KEY = f"{MARK_PREFIX}kind"
_KEYS = (CLUSTER_KEY, KIND_KEY, NAMESPACE_KEY, NAME_KEY, UID_KEY)


@dataclass(frozen=True)
class Owner:
    cluster: str
    kind: str
    namespace: str
    name: str
    uid: str

    def items(self) -> dict[str, str]:
        return dict(zip(_KEYS, (self.cluster, self.kind, self.namespace, self.name, self.uid),
                        strict=True))

    def tags(self) -> dict[str, str]:
        """As ARM tags."""
        return self.items()

    def metadata(self) -> list[dict[str, str]]:
        """As Batch pool metadata items."""
        return [{"name": k, "value": v} for k, v in self.items().items()]

    def same_object(self, other: Owner) -> bool:
        return self == other

    def same_name(self, other: Owner) -> bool:
        """The same cluster, kind, namespace and name (perhaps another uid)."""
        return (self.cluster, self.kind, self.namespace, self.name) == (
            other.cluster, other.kind, other.namespace, other.name)


def _from_items(items: Mapping[str, Any]) -> Owner | None:
    values = [items.get(k) for k in _KEYS]
    if not any(values):
        return None
    # A partial or garbled mark is still a mark: it is not ours to take silently.
    return Owner(*(str(v or "") for v in values))


def owner_from_tags(tags: Mapping[str, Any] | None) -> Owner | None:
    """The mark on an ARM resource's tags; tag names are case-insensitive in ARM."""
    lowered = {str(k).lower(): v for k, v in (tags or {}).items()}
    return _from_items(lowered)


def owner_from_metadata(items: Iterable[Mapping[str, Any]] | None) -> Owner | None:
    """The mark among a Batch pool's metadata items."""
    return _from_items({str(m.get("name")): m.get("value") for m in items or []
                        if isinstance(m, Mapping)})


def is_reserved(key: str) -> bool:
    """Names users may not set in spec tags or metadata: the mark would be forgeable."""
    return key.lower().startswith(MARK_PREFIX) or key.lower().startswith(f"{GROUP}/")
