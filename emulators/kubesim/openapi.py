"""OpenAPI documents. kubectl reads ``/openapi/v3`` to learn that the server does
field validation (a PATCH operation carrying the ``fieldValidation`` parameter for
the object's GVK) and ``kubectl explain`` renders the component schemas."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from .resources import Registry, ResourceType

OBJECT_META_REF = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
SERVER_VERSION = "v1.37.0"

_OBJECT_META = {
    "description": "ObjectMeta is metadata that all persisted resources must have, which "
    "includes all objects users must create.",
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "Name must be unique within a namespace."},
        "generateName": {
            "type": "string",
            "description": "GenerateName is an optional prefix, used by the server, to generate "
            "a unique name ONLY IF the Name field has not been provided.",
        },
        "namespace": {
            "type": "string",
            "description": "Namespace defines the space within which each name must be unique.",
        },
        "uid": {
            "type": "string",
            "description": "UID is the unique in time and space value for this object.",
        },
        "resourceVersion": {
            "type": "string",
            "description": "An opaque value that represents the internal version of this object.",
        },
        "generation": {
            "type": "integer",
            "format": "int64",
            "description": "A sequence number representing a specific generation of the desired "
            "state.",
        },
        "creationTimestamp": {
            "type": "string",
            "format": "date-time",
            "description": "CreationTimestamp is a timestamp representing the server time when "
            "this object was created.",
        },
        "deletionTimestamp": {
            "type": "string",
            "format": "date-time",
            "description": "DeletionTimestamp is RFC 3339 date and time at which this resource "
            "will be deleted.",
        },
        "deletionGracePeriodSeconds": {
            "type": "integer",
            "format": "int64",
            "description": "Number of seconds allowed for this object to gracefully terminate.",
        },
        "labels": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Map of string keys and values that can be used to organize and "
            "categorize objects.",
        },
        "annotations": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Annotations is an unstructured key value map stored with a resource.",
        },
        "finalizers": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Must be empty before the object is deleted from the registry.",
        },
        "ownerReferences": {
            "type": "array",
            "items": {"type": "object"},
            "description": "List of objects depended by this object.",
        },
    },
}

_QUERY_PARAMS = [
    ("dryRun", "When present, indicates that modifications should not be persisted."),
    (
        "fieldManager",
        "fieldManager is a name associated with the actor or entity that is making these changes.",
    ),
    (
        "fieldValidation",
        "fieldValidation instructs the server on how to handle objects in the request containing "
        "unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.",
    ),
]


def _reverse_domain(group: str) -> str:
    return ".".join(reversed(group.split("."))) if group else "io.k8s.api.core"


def definition_name(rt: ResourceType) -> str:
    """Schema names as the real server publishes them, e.g. io.k8s.api.apps.v1.Deployment."""
    if rt.custom:
        prefix = _reverse_domain(rt.group)
    elif rt.group == "apiextensions.k8s.io":
        prefix = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions"
    else:
        prefix = "io.k8s.api." + (rt.group.split(".")[0] if rt.group else "core")
    return f"{prefix}.{rt.version}.{rt.kind}"


def _gvk(rt: ResourceType) -> dict[str, str]:
    return {"group": rt.group, "version": rt.version, "kind": rt.kind}


def _gv_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def _kind_schema(rt: ResourceType, ref_prefix: str) -> dict[str, Any]:
    base: dict[str, Any] = (
        copy.deepcopy(rt.schema)
        if rt.schema
        else {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    )
    base.setdefault("type", "object")
    base.setdefault("description", f"{rt.kind} is served by kubesim.")
    props = base.setdefault("properties", {})
    props["apiVersion"] = {
        "type": "string",
        "description": "APIVersion defines the versioned schema of this representation of an "
        "object.",
    }
    props["kind"] = {
        "type": "string",
        "description": "Kind is a string value representing the REST resource this object "
        "represents.",
    }
    props["metadata"] = {
        "allOf": [{"$ref": f"{ref_prefix}{OBJECT_META_REF}"}],
        "default": {},
        "description": "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
    }
    base["x-kubernetes-group-version-kind"] = [_gvk(rt)]
    return base


def _operation(rt: ResourceType, action: str, ref: str) -> dict[str, Any]:
    params = [
        {
            "name": name,
            "in": "query",
            "description": desc,
            "schema": {"type": "string", "uniqueItems": True},
        }
        for name, desc in _QUERY_PARAMS
    ]
    body_schema = {"schema": {"$ref": ref}}
    op: dict[str, Any] = {
        "description": f"{action} the specified {rt.kind}",
        "operationId": f"{action}{rt.kind}",
        "tags": [_gv_path(rt.group, rt.version).replace("/", "_")],
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": _gvk(rt),
        "responses": {"200": {"description": "OK", "content": {"application/json": body_schema}}},
    }
    if action in ("put", "post", "patch"):
        op["parameters"] = params
    if action == "patch":
        patch_schema = {
            "schema": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}
        }
        # No strategic-merge type listed, as for custom resources on the real server.
        op["requestBody"] = {
            "content": {
                "application/apply-patch+yaml": patch_schema,
                "application/json-patch+json": patch_schema,
                "application/merge-patch+json": patch_schema,
            },
            "required": True,
        }
    elif action in ("put", "post"):
        op["requestBody"] = {"content": {"application/json": body_schema}, "required": True}
    return op


def v3_group_version(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    types = registry.in_version(group, version)
    if not types:
        return None
    prefix = "#/components/schemas/"
    schemas: dict[str, Any] = {
        OBJECT_META_REF: _OBJECT_META,
        "io.k8s.apimachinery.pkg.apis.meta.v1.Patch": {
            "type": "object",
            "description": "Patch is provided to give a concrete name and type to the Kubernetes "
            "PATCH request body.",
        },
    }
    paths: dict[str, Any] = {}
    root = "/" + _gv_path(group, version)
    for rt in types:
        name = definition_name(rt)
        schemas[name] = _kind_schema(rt, prefix)
        ref = prefix + name
        scope = (
            f"{root}/namespaces/{{namespace}}/{rt.plural}"
            if rt.namespaced
            else f"{root}/{rt.plural}"
        )
        paths[scope] = {"get": _operation(rt, "list", ref), "post": _operation(rt, "post", ref)}
        item = {a: _operation(rt, a, ref) for a in ("get", "put", "patch", "delete")}
        paths[f"{scope}/{{name}}"] = item
        if rt.status_subresource:
            paths[f"{scope}/{{name}}/status"] = {
                a: _operation(rt, a, ref) for a in ("get", "put", "patch")
            }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": SERVER_VERSION},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def v3_root(registry: Registry) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    gvs = [("", "v1")] + [(g, v) for g in registry.groups() for v in registry.versions(g)]
    for group, version in gvs:
        doc = v3_group_version(registry, group, version)
        if doc is None:
            continue
        digest = hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest().upper()[:128]
        key = _gv_path(group, version)
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
    return {"paths": paths}


def v2(registry: Registry) -> dict[str, Any]:
    definitions: dict[str, Any] = {OBJECT_META_REF: _OBJECT_META}
    for rt in registry.all():
        definitions[definition_name(rt)] = _kind_schema(rt, "#/definitions/")
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": SERVER_VERSION},
        "paths": {},
        "definitions": definitions,
    }
