"""Decode Kubernetes protobuf request bodies for the built-in kinds kubectl's typed
clients send that way (``kubectl create configmap|secret|namespace|...``).

client-go's typed clients always write protobuf; responses may be JSON (the client
picks its decoder from the response Content-Type), so only decoding is needed.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from .errors import bad_request

MAGIC = b"k8s\x00"
PROTOBUF = "application/vnd.kubernetes.protobuf"

# Field tables: number -> (json name, type). A type is "s" string, "i" int, "b" bool,
# "y" bytes (base64 in JSON), "t" Time, "q" Quantity, "ios" IntOrString, a nested
# table, ("rep", type) for repeated, or ("map", type) for map<string, type>.
Table = dict[int, tuple[str, Any]]

OWNER_REF: Table = {
    1: ("kind", "s"),
    3: ("name", "s"),
    4: ("uid", "s"),
    5: ("apiVersion", "s"),
    6: ("controller", "b"),
    7: ("blockOwnerDeletion", "b"),
}
OBJECT_META: Table = {
    1: ("name", "s"),
    2: ("generateName", "s"),
    3: ("namespace", "s"),
    5: ("uid", "s"),
    6: ("resourceVersion", "s"),
    7: ("generation", "i"),
    8: ("creationTimestamp", "t"),
    9: ("deletionTimestamp", "t"),
    10: ("deletionGracePeriodSeconds", "i"),
    11: ("labels", ("map", "s")),
    12: ("annotations", ("map", "s")),
    13: ("ownerReferences", ("rep", OWNER_REF)),
    14: ("finalizers", ("rep", "s")),
}
LABEL_SELECTOR_REQ: Table = {1: ("key", "s"), 2: ("operator", "s"), 3: ("values", ("rep", "s"))}
LABEL_SELECTOR: Table = {
    1: ("matchLabels", ("map", "s")),
    2: ("matchExpressions", ("rep", LABEL_SELECTOR_REQ)),
}
OBJECT_REF: Table = {
    1: ("kind", "s"),
    2: ("namespace", "s"),
    3: ("name", "s"),
    4: ("uid", "s"),
    5: ("apiVersion", "s"),
}
LOCAL_REF: Table = {1: ("name", "s")}
POLICY_RULE: Table = {
    1: ("verbs", ("rep", "s")),
    2: ("apiGroups", ("rep", "s")),
    3: ("resources", ("rep", "s")),
    4: ("resourceNames", ("rep", "s")),
    5: ("nonResourceURLs", ("rep", "s")),
}
SUBJECT: Table = {1: ("kind", "s"), 2: ("apiGroup", "s"), 3: ("name", "s"), 4: ("namespace", "s")}
ROLE_REF: Table = {1: ("apiGroup", "s"), 2: ("kind", "s"), 3: ("name", "s")}
CONTAINER_PORT: Table = {
    1: ("name", "s"),
    2: ("hostPort", "i"),
    3: ("containerPort", "i"),
    4: ("protocol", "s"),
    5: ("hostIP", "s"),
}
ENV_VAR: Table = {1: ("name", "s"), 2: ("value", "s")}
RESOURCES: Table = {1: ("limits", ("map", "q")), 2: ("requests", ("map", "q"))}
CONTAINER: Table = {
    1: ("name", "s"),
    2: ("image", "s"),
    3: ("command", ("rep", "s")),
    4: ("args", ("rep", "s")),
    5: ("workingDir", "s"),
    6: ("ports", ("rep", CONTAINER_PORT)),
    7: ("env", ("rep", ENV_VAR)),
    8: ("resources", RESOURCES),
    13: ("terminationMessagePath", "s"),
    14: ("imagePullPolicy", "s"),
    20: ("terminationMessagePolicy", "s"),
}
POD_SPEC: Table = {
    2: ("containers", ("rep", CONTAINER)),
    3: ("restartPolicy", "s"),
    4: ("terminationGracePeriodSeconds", "i"),
    6: ("dnsPolicy", "s"),
    7: ("nodeSelector", ("map", "s")),
    8: ("serviceAccountName", "s"),
    14: ("securityContext", {}),
    19: ("schedulerName", "s"),
    20: ("initContainers", ("rep", CONTAINER)),
}
POD_TEMPLATE: Table = {1: ("metadata", OBJECT_META), 2: ("spec", POD_SPEC)}
ROLLING: Table = {1: ("maxUnavailable", "ios"), 2: ("maxSurge", "ios")}
STRATEGY: Table = {1: ("type", "s"), 2: ("rollingUpdate", ROLLING)}
DEPLOYMENT_SPEC: Table = {
    1: ("replicas", "i"),
    2: ("selector", LABEL_SELECTOR),
    3: ("template", POD_TEMPLATE),
    4: ("strategy", STRATEGY),
    5: ("minReadySeconds", "i"),
    6: ("revisionHistoryLimit", "i"),
    7: ("paused", "b"),
    9: ("progressDeadlineSeconds", "i"),
}
SERVICE_PORT: Table = {
    1: ("name", "s"),
    2: ("protocol", "s"),
    3: ("port", "i"),
    4: ("targetPort", "ios"),
    5: ("nodePort", "i"),
}
SERVICE_SPEC: Table = {
    1: ("ports", ("rep", SERVICE_PORT)),
    2: ("selector", ("map", "s")),
    3: ("clusterIP", "s"),
    4: ("type", "s"),
}
LEASE_SPEC: Table = {
    1: ("holderIdentity", "s"),
    2: ("leaseDurationSeconds", "i"),
    3: ("acquireTime", "t"),
    4: ("renewTime", "t"),
    5: ("leaseTransitions", "i"),
}

RESOURCE_ATTRIBUTES: Table = {
    1: ("namespace", "s"),
    2: ("verb", "s"),
    3: ("group", "s"),
    4: ("version", "s"),
    5: ("resource", "s"),
    6: ("subresource", "s"),
    7: ("name", "s"),
}
ACCESS_REVIEW: Table = {
    1: ("metadata", OBJECT_META),
    2: (
        "spec",
        {
            1: ("resourceAttributes", RESOURCE_ATTRIBUTES),
            2: ("nonResourceAttributes", {1: ("path", "s"), 2: ("verb", "s")}),
            3: ("user", "s"),
            4: ("groups", ("rep", "s")),
        },
    ),
}

KINDS: dict[str, Table] = {
    "ConfigMap": {
        1: ("metadata", OBJECT_META),
        2: ("data", ("map", "s")),
        3: ("binaryData", ("map", "y")),
        4: ("immutable", "b"),
    },
    "Secret": {
        1: ("metadata", OBJECT_META),
        2: ("data", ("map", "y")),
        3: ("type", "s"),
        4: ("stringData", ("map", "s")),
        5: ("immutable", "b"),
    },
    "Namespace": {
        1: ("metadata", OBJECT_META),
        2: ("spec", {1: ("finalizers", ("rep", "s"))}),
        3: ("status", {1: ("phase", "s")}),
    },
    "ServiceAccount": {
        1: ("metadata", OBJECT_META),
        2: ("secrets", ("rep", OBJECT_REF)),
        3: ("imagePullSecrets", ("rep", LOCAL_REF)),
        4: ("automountServiceAccountToken", "b"),
    },
    "Role": {1: ("metadata", OBJECT_META), 2: ("rules", ("rep", POLICY_RULE))},
    "ClusterRole": {1: ("metadata", OBJECT_META), 2: ("rules", ("rep", POLICY_RULE))},
    "RoleBinding": {
        1: ("metadata", OBJECT_META),
        2: ("subjects", ("rep", SUBJECT)),
        3: ("roleRef", ROLE_REF),
    },
    "ClusterRoleBinding": {
        1: ("metadata", OBJECT_META),
        2: ("subjects", ("rep", SUBJECT)),
        3: ("roleRef", ROLE_REF),
    },
    "Deployment": {1: ("metadata", OBJECT_META), 2: ("spec", DEPLOYMENT_SPEC)},
    "Service": {1: ("metadata", OBJECT_META), 2: ("spec", SERVICE_SPEC)},
    "Lease": {1: ("metadata", OBJECT_META), 2: ("spec", LEASE_SPEC)},
    "SelfSubjectAccessReview": ACCESS_REVIEW,
    "SubjectAccessReview": ACCESS_REVIEW,
    "LocalSubjectAccessReview": ACCESS_REVIEW,
    "SelfSubjectReview": {1: ("metadata", OBJECT_META)},
    "DeleteOptions": {
        1: ("gracePeriodSeconds", "i"),
        2: ("preconditions", {1: ("uid", "s"), 2: ("resourceVersion", "s")}),
        3: ("orphanDependents", "b"),
        4: ("propagationPolicy", "s"),
        5: ("dryRun", ("rep", "s")),
    },
}


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    out: list[tuple[int, int, Any]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            size, pos = _varint(data, pos)
            value, pos = data[pos : pos + size], pos + size
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise bad_request(f"unsupported protobuf wire type {wire}")
        out.append((number, wire, value))
    return out


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise bad_request("truncated protobuf body")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _scalar(kind: Any, value: Any) -> Any:
    if kind == "s":
        return bytes(value).decode()
    if kind == "i":
        return value - (1 << 64) if value >= 1 << 63 else value
    if kind == "b":
        return bool(value)
    if kind == "y":
        return base64.b64encode(bytes(value)).decode()
    if kind == "q":  # resource.Quantity: {string = 1}
        return next((bytes(v).decode() for n, _, v in _fields(value) if n == 1), "")
    if kind == "t":  # metav1.Time: {seconds = 1, nanos = 2}
        seconds = next((v for n, _, v in _fields(value) if n == 1), 0)
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if kind == "ios":  # IntOrString: {type = 1, intVal = 2, strVal = 3}
        parts = {n: v for n, _, v in _fields(value)}
        return bytes(parts[3]).decode() if parts.get(1) == 1 else parts.get(2, 0)
    if isinstance(kind, dict):
        return _message(value, kind)
    raise bad_request(f"unsupported protobuf field type {kind!r}")


def _message(data: bytes, table: Table) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for number, _, value in _fields(data):
        if number not in table:
            continue  # fields kubesim does not model are dropped
        name, kind = table[number]
        if isinstance(kind, tuple) and kind[0] == "rep":
            if kind[1] == "i" and isinstance(value, bytes):  # packed repeated ints
                pos, items = 0, obj.setdefault(name, [])
                while pos < len(value):
                    item, pos = _varint(value, pos)
                    items.append(item)
            else:
                obj.setdefault(name, []).append(_scalar(kind[1], value))
        elif isinstance(kind, tuple) and kind[0] == "map":
            entry = {n: v for n, _, v in _fields(value)}
            obj.setdefault(name, {})[bytes(entry.get(1, b"")).decode()] = _scalar(
                kind[1], entry.get(2, b"")
            )
        else:
            obj[name] = _scalar(kind, value)
    return obj


def decode(body: bytes) -> dict[str, Any]:
    """Decode a ``k8s\\x00``-prefixed runtime.Unknown envelope into a JSON-shaped object."""
    if not body.startswith(MAGIC):
        raise bad_request("protobuf body lacks the k8s envelope")
    envelope = {n: v for n, _, v in _fields(body[len(MAGIC) :])}
    type_meta = {n: bytes(v).decode() for n, _, v in _fields(envelope.get(1, b""))}
    api_version, kind = type_meta.get(1, ""), type_meta.get(2, "")
    table = KINDS.get(kind)
    if table is None:
        raise bad_request(f"kubesim cannot decode protobuf for kind {kind!r}; send JSON")
    obj: dict[str, Any] = _omit_empty(_message(envelope.get(2, b""), table))
    obj["apiVersion"], obj["kind"] = api_version, kind
    return obj


# Optional (pointer) fields are only on the wire when set, so their zero is meaningful.
_KEEP_ZERO = {
    "replicas",
    "automountServiceAccountToken",
    "immutable",
    "terminationGracePeriodSeconds",
    "revisionHistoryLimit",
    "progressDeadlineSeconds",
    "leaseDurationSeconds",
    "leaseTransitions",
    "gracePeriodSeconds",
}


def _is_zero(item: Any) -> bool:
    if isinstance(item, bool):
        return not item
    if isinstance(item, int):
        return item == 0
    return item in ("", {}, [])


def _omit_empty(value: Any) -> Any:
    """Go's protobuf writes zero values of non-pointer fields; JSON omits them."""
    if isinstance(value, dict):
        cleaned = {key: _omit_empty(item) for key, item in value.items()}
        return {k: v for k, v in cleaned.items() if k in _KEEP_ZERO or not _is_zero(v)}
    if isinstance(value, list):
        return [_omit_empty(v) for v in value]
    return value
