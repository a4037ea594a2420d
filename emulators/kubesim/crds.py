"""CustomResourceDefinition handling: which resources a CRD serves and the status
the real apiextensions controllers would write."""

from __future__ import annotations

from typing import Any

from . import errors
from .resources import ResourceType

CRD_GROUP = "apiextensions.k8s.io"


def resource_types(crd: dict[str, Any]) -> list[ResourceType]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    namespaced = spec.get("scope", "Namespaced") == "Namespaced"
    found = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        subresources = version.get("subresources") or {}
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        found.append(
            ResourceType(
                group=spec["group"],
                version=version["name"],
                plural=names["plural"],
                singular=names.get("singular") or names["kind"].lower(),
                kind=names["kind"],
                namespaced=namespaced,
                short_names=list(names.get("shortNames") or []),
                categories=list(names.get("categories") or []),
                status_subresource="status" in subresources,
                scale=subresources.get("scale"),
                storage=bool(version.get("storage")),
                custom=True,
                schema=schema,
                printer_columns=list(version.get("additionalPrinterColumns") or []),
            )
        )
    return found


def validate_crd(crd: dict[str, Any]) -> None:
    """The few checks whose absence would break kubesim itself."""
    name = crd.get("metadata", {}).get("name", "")
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    causes: list[errors.Cause] = []
    if not spec.get("group"):
        causes.append(errors.required("spec.group"))
    if not names.get("plural"):
        causes.append(errors.required("spec.names.plural"))
    if not names.get("kind"):
        causes.append(errors.required("spec.names.kind"))
    versions = spec.get("versions") or []
    if not versions:
        causes.append(errors.required("spec.versions"))
    elif sum(1 for v in versions if v.get("storage")) != 1:
        causes.append(
            errors.invalid_value(
                "spec.versions",
                versions and "",
                "must have exactly one version marked as storage version",
            )
        )
    if spec.get("group") and names.get("plural"):
        expected = f"{names['plural']}.{spec['group']}"
        if name != expected:
            causes.append(
                errors.invalid_value(
                    "metadata.name", name, 'must be spec.names.plural+"."+spec.group'
                )
            )
    if causes:
        raise errors.invalid("CustomResourceDefinition", CRD_GROUP, name, causes)


def with_status(crd: dict[str, Any], now: str) -> dict[str, Any]:
    """Accepted names and Established/NamesAccepted conditions, set immediately."""
    spec = crd.get("spec") or {}
    names = dict(spec.get("names") or {})
    names.setdefault("singular", names.get("kind", "").lower())
    names.setdefault("listKind", f"{names.get('kind', '')}List")
    old = {c.get("type"): c for c in (crd.get("status") or {}).get("conditions") or []}

    def condition(ctype: str, reason: str, message: str) -> dict[str, Any]:
        prev = old.get(ctype)
        since = (
            prev.get("lastTransitionTime", now) if prev and prev.get("status") == "True" else now
        )
        return {
            "type": ctype,
            "status": "True",
            "lastTransitionTime": since,
            "reason": reason,
            "message": message,
        }

    stored = list((crd.get("status") or {}).get("storedVersions") or [])
    for version in spec.get("versions") or []:
        if version.get("storage") and version["name"] not in stored:
            stored.append(version["name"])
    crd["status"] = {
        "acceptedNames": names,
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition(
                "Established", "InitialNamesAccepted", "the initial names have been accepted"
            ),
        ],
        "storedVersions": stored,
    }
    return crd
