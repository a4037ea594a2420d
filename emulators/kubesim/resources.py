"""Resource types kubesim serves: the built-in kinds and those CRDs add."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass
class ResourceType:
    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    status_subresource: bool = False
    # CRD-style scale subresource: specReplicasPath, statusReplicasPath, labelSelectorPath.
    scale: dict[str, str] | None = None
    storage: bool = True
    custom: bool = False  # defined by a CRD: stricter update rules, schema handling
    schema: dict[str, Any] | None = None  # openAPIV3Schema for custom resources
    printer_columns: list[dict[str, Any]] = field(default_factory=list)
    verbs: list[str] = field(default_factory=lambda: list(ALL_VERBS))
    # Create-only review kinds (access reviews): answered, never stored.
    review: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def store_key(self) -> tuple[str, str]:
        # All versions of one resource share storage (no conversion beyond apiVersion).
        return (self.group, self.plural)


def _b(
    group: str,
    version: str,
    plural: str,
    kind: str,
    namespaced: bool = True,
    short: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    status: bool = False,
) -> ResourceType:
    return ResourceType(
        group=group,
        version=version,
        plural=plural,
        singular=kind.lower(),
        kind=kind,
        namespaced=namespaced,
        short_names=list(short),
        categories=list(categories),
        status_subresource=status,
        printer_columns=BUILTIN_COLUMNS.get((group, plural), []),
    )


def _columns(*cols: tuple[str, str, str]) -> list[dict[str, Any]]:
    return [{"name": n, "type": t, "jsonPath": p} for n, t, p in cols]


_AGE = ("Age", "date", ".metadata.creationTimestamp")
# Printer columns kubectl users look at most; other built-ins print Name and Age.
BUILTIN_COLUMNS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("", "namespaces"): _columns(("Status", "string", ".status.phase"), _AGE),
    ("", "events"): _columns(
        ("Last Seen", "date", ".lastTimestamp"),
        ("Type", "string", ".type"),
        ("Reason", "string", ".reason"),
        ("Object", "string", ".involvedObject.name"),
        ("Message", "string", ".message"),
    ),
    ("apps", "deployments"): _columns(
        ("Replicas", "integer", ".spec.replicas"),
        ("Available", "integer", ".status.availableReplicas"),
        _AGE,
    ),
    ("coordination.k8s.io", "leases"): _columns(("Holder", "string", ".spec.holderIdentity"), _AGE),
}

DEPLOYMENT_SCALE = {
    "specReplicasPath": ".spec.replicas",
    "statusReplicasPath": ".status.replicas",
    "labelSelectorPath": ".spec.selector",  # a LabelSelector, rendered as a string
}

BUILTINS: list[ResourceType] = [
    _b("", "v1", "namespaces", "Namespace", namespaced=False, short=("ns",), status=True),
    _b("", "v1", "events", "Event", short=("ev",)),
    _b("", "v1", "configmaps", "ConfigMap", short=("cm",)),
    _b("", "v1", "secrets", "Secret"),
    _b("", "v1", "serviceaccounts", "ServiceAccount", short=("sa",)),
    _b("", "v1", "services", "Service", short=("svc",), categories=("all",), status=True),
    _b("", "v1", "pods", "Pod", short=("po",), categories=("all",), status=True),
    _b(
        "apps",
        "v1",
        "deployments",
        "Deployment",
        short=("deploy",),
        categories=("all",),
        status=True,
    ),
    # Served (empty unless written) because status readers such as Helm's look them up.
    _b("apps", "v1", "replicasets", "ReplicaSet", short=("rs",), categories=("all",), status=True),
    _b("events.k8s.io", "v1", "events", "Event", short=("ev",)),
    _b("coordination.k8s.io", "v1", "leases", "Lease"),
    _b("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    _b("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    _b("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False),
    _b(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
        namespaced=False,
    ),
    _b(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        namespaced=False,
        short=("crd", "crds"),
        categories=("api-extensions",),
        status=True,
    ),
    # Stored as plain objects, no controller behind them: so charts that ship them install.
    _b("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", short=("pvc",), status=True),
    _b(
        "",
        "v1",
        "persistentvolumes",
        "PersistentVolume",
        namespaced=False,
        short=("pv",),
        status=True,
    ),
    _b("", "v1", "resourcequotas", "ResourceQuota", short=("quota",), status=True),
    _b("", "v1", "limitranges", "LimitRange", short=("limits",)),
    _b("", "v1", "endpoints", "Endpoints", short=("ep",)),
    _b("", "v1", "nodes", "Node", namespaced=False, short=("no",), status=True),
    _b(
        "apps",
        "v1",
        "statefulsets",
        "StatefulSet",
        short=("sts",),
        categories=("all",),
        status=True,
    ),
    _b("apps", "v1", "daemonsets", "DaemonSet", short=("ds",), categories=("all",), status=True),
    _b("batch", "v1", "jobs", "Job", categories=("all",), status=True),
    _b("batch", "v1", "cronjobs", "CronJob", short=("cj",), categories=("all",), status=True),
    _b("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", short=("pdb",), status=True),
    _b("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", short=("netpol",)),
    _b("networking.k8s.io", "v1", "ingresses", "Ingress", short=("ing",), status=True),
    _b(
        "scheduling.k8s.io",
        "v1",
        "priorityclasses",
        "PriorityClass",
        namespaced=False,
        short=("pc",),
    ),
    _b("storage.k8s.io", "v1", "storageclasses", "StorageClass", namespaced=False, short=("sc",)),
    _b(
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        namespaced=False,
    ),
    _b(
        "admissionregistration.k8s.io",
        "v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        namespaced=False,
    ),
]


class Registry:
    """Lookup of served resources by group/version/plural and by kind."""

    def __init__(self) -> None:
        self._by_gvr: dict[tuple[str, str, str], ResourceType] = {}
        self._group_order: list[str] = []
        for rt in BUILTINS:
            self.add(rt)

    def add(self, rt: ResourceType) -> None:
        if rt.group not in self._group_order:
            self._group_order.append(rt.group)
        self._by_gvr[(rt.group, rt.version, rt.plural)] = rt

    def remove_crd_resources(self, group: str, plural: str) -> None:
        for key in [k for k in self._by_gvr if k[0] == group and k[2] == plural]:
            del self._by_gvr[key]
        if not any(k[0] == group for k in self._by_gvr) and group in self._group_order:
            self._group_order.remove(group)

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_gvr.get((group, version, plural))

    def all(self) -> list[ResourceType]:
        return list(self._by_gvr.values())

    def groups(self) -> list[str]:
        return [g for g in self._group_order if g]

    def versions(self, group: str) -> list[str]:
        """Served versions of a group, preferred (storage) first."""
        found: list[tuple[int, str]] = []
        for (g, v, _), rt in self._by_gvr.items():
            if g == group and v not in [x[1] for x in found]:
                found.append((0 if rt.storage else 1, v))
        found.sort(key=lambda x: x[0])
        return [v for _, v in found]

    def in_version(self, group: str, version: str) -> list[ResourceType]:
        return [rt for (g, v, _), rt in self._by_gvr.items() if g == group and v == version]


for _rt in BUILTINS:
    if _rt.store_key in (("apps", "deployments"), ("apps", "replicasets")):
        _rt.scale = dict(DEPLOYMENT_SCALE)

# `kubectl auth can-i` and `auth whoami`: kubesim authorizes everything.
for _group, _plural, _kind, _namespaced in (
    ("authorization.k8s.io", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False),
    ("authorization.k8s.io", "subjectaccessreviews", "SubjectAccessReview", False),
    ("authorization.k8s.io", "localsubjectaccessreviews", "LocalSubjectAccessReview", True),
    ("authentication.k8s.io", "selfsubjectreviews", "SelfSubjectReview", False),
):
    _review = _b(_group, "v1", _plural, _kind, namespaced=_namespaced)
    _review.verbs, _review.review = ["create"], True
    BUILTINS.append(_review)
