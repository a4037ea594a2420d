"""Object semantics of the API server: create/update/patch/delete with metadata,
status-subresource, finalizer, namespace and CRD rules. HTTP lives in server.py."""

from __future__ import annotations

import base64
import copy
import random
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml

from . import crds, errors, patch, schema
from .errors import ApiError
from .resources import Registry, ResourceType
from .selectors import ObjectFilter
from .store import Obj, Store

SYSTEM_META = (
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
)
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_GENERATE_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_PATH_SEGMENT_GROUPS = {"rbac.authorization.k8s.io"}


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class WriteOptions:
    field_validation: str = "Warn"  # Strict | Warn | Ignore
    dry_run: bool = False
    field_manager: str | None = None
    force: bool = False
    # Create and update bodies are decoded whole; the real server prefixes decode errors.
    decode_context: bool = False
    warnings: list[str] = field(default_factory=list)


class Api:
    def __init__(self, store: Store, registry: Registry, deployments_ready: bool = True) -> None:
        self.store = store
        self.registry = registry
        self.deployments_ready = deployments_ready
        # Server-side apply: what each field manager last applied, per object (by uid),
        # so fields a manager stops applying are removed as the real server does.
        self._applied: dict[str, dict[str, Obj]] = {}
        self._bootstrap()

    def _bootstrap(self) -> None:
        ns = self.registry.get("", "v1", "namespaces")
        assert ns is not None
        for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.create(ns, None, {"metadata": {"name": name}}, WriteOptions())

    # -- helpers ---------------------------------------------------------------
    def resolve(self, group: str, version: str, plural: str) -> ResourceType:
        rt = self.registry.get(group, version, plural)
        if rt is None:
            raise errors.resource_not_found()
        return rt

    def _out(self, rt: ResourceType, obj: Obj) -> Obj:
        """Present a stored object in the requested version."""
        obj["apiVersion"] = rt.api_version
        obj["kind"] = rt.kind
        return obj

    def _name_check(self, rt: ResourceType, name: str) -> None:
        if rt.custom or rt.group in _PATH_SEGMENT_GROUPS:
            bad = name in (".", "..") or "/" in name or "%" in name
            detail = "may not contain '/'" if "/" in name else "may not be '.' or '..'"
        elif rt.plural == "namespaces":
            bad = not _LABEL.match(name) or len(name) > 63
            detail = (
                "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                "characters or '-', and must start and end with an alphanumeric character "
                "(e.g. 'my-name',  or '123-abc', regex used for validation is "
                "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
            )
        else:
            bad = not _SUBDOMAIN.match(name) or len(name) > 253
            detail = (
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                "characters, '-' or '.', and must start and end with an alphanumeric character "
                "(e.g. 'example.com', regex used for validation is "
                "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
            )
        if bad:
            raise errors.invalid(
                rt.kind, rt.group, name, [errors.invalid_value("metadata.name", name, detail)]
            )

    def _check_body(
        self, rt: ResourceType, body: Any, namespace: str | None, *, owned: bool = False
    ) -> Obj:
        """Check and normalise a request body; ``owned``: a fresh object nobody else holds
        (a patch result), so no defensive copy."""
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request was in an unknown format")
        api_version = body.get("apiVersion")
        if api_version and api_version != rt.api_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({rt.api_version})"
            )
        kind = body.get("kind")
        if kind and kind != rt.kind:
            raise errors.bad_request(
                f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})"
            )
        if not owned:
            body = copy.deepcopy(body)
        meta = body.get("metadata")
        if meta is None:
            meta = body["metadata"] = {}
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        if rt.namespaced:
            if meta.get("namespace") and namespace and meta["namespace"] != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request"
                )
            if namespace:
                meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        meta.pop("managedFields", None)  # kubesim does not track field ownership
        meta.pop("selfLink", None)
        body["apiVersion"] = rt.api_version
        body["kind"] = rt.kind
        checked: Obj = body
        return checked

    def _schema_pipeline(
        self, rt: ResourceType, obj: Obj, old: Obj | None, opts: WriteOptions
    ) -> None:
        """Decode-time unknown-field handling, then pruning, defaulting, validation."""
        if rt.kind == "Secret" and not rt.group:
            _merge_string_data(obj)
        meta = obj["metadata"]
        if rt.schema is not None:
            unknown = schema.unknown_fields(obj, rt.schema)
        else:  # built-ins: kubesim knows only ObjectMeta's shape
            unknown = schema.unknown_meta_fields(obj)
        if unknown and opts.field_validation == "Strict":
            message = "strict decoding error: " + ", ".join(f'unknown field "{f}"' for f in unknown)
            if opts.decode_context:
                kind, version = rt.kind, rt.version
                message = f'{kind} in version "{version}" cannot be handled as a {kind}: {message}'
            raise errors.bad_request(message)
        if unknown and opts.field_validation == "Warn":
            opts.warnings += [f'unknown field "{f}"' for f in unknown]
        for f in unknown:
            if f.startswith("metadata."):
                meta.pop(f.split(".", 1)[1], None)
        if rt.schema is None:
            builtin = _builtin_causes(rt, obj)
            if builtin:
                raise errors.invalid(rt.kind, rt.group, meta.get("name", ""), builtin)
            return
        schema.prune(obj, rt.schema)
        schema.apply_defaults(obj, rt.schema)
        causes = schema.validate_all(obj, old, rt.schema)
        if causes:
            raise errors.invalid(rt.kind, rt.group, meta.get("name", ""), causes)

    @staticmethod
    def _content(obj: Obj, rt: ResourceType) -> Obj:
        """What counts toward generation: everything but metadata (and status when it
        is a subresource)."""
        skip = {"metadata", "apiVersion", "kind"}
        if rt.status_subresource or not rt.custom:
            skip.add("status")
        return {k: v for k, v in obj.items() if k not in skip}

    def _namespace_ready(self, rt: ResourceType, namespace: str | None, name: str) -> None:
        if not rt.namespaced:
            return
        if not namespace:
            raise errors.bad_request("the server could not find the requested resource")
        ns = self.store.get(("", "namespaces"), "", namespace)
        if ns is None:
            raise errors.not_found("namespaces", "", namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise ApiError(
                403,
                "Forbidden",
                f'{errors.qualified(rt.plural, rt.group)} "{name}" is forbidden: unable to '
                "create new content in "
                f"namespace {namespace} because it is being terminated",
                {"name": namespace, "kind": "namespaces"},
            )

    # -- verbs -----------------------------------------------------------------
    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        obj = self.store.get(rt.store_key, namespace or "", name)
        if obj is None:
            raise errors.not_found(rt.plural, rt.group, name)
        return self._out(rt, obj)

    def list_objects(self, rt: ResourceType, selection: ObjectFilter) -> tuple[list[Obj], int]:
        items = [self._out(rt, o) for o in self.store.objects(rt.store_key) if selection(o)]
        return items, self.store.rv

    def create(self, rt: ResourceType, namespace: str | None, body: Any, opts: WriteOptions) -> Obj:
        obj = self._check_body(rt, body, namespace)
        meta = obj["metadata"]
        if not meta.get("name"):
            if meta.get("generateName"):
                suffix = "".join(random.choice(_GENERATE_CHARS) for _ in range(5))
                meta["name"] = meta["generateName"] + suffix
            else:
                raise errors.invalid(
                    rt.kind,
                    rt.group,
                    "",
                    [
                        errors.Cause(
                            "FieldValueRequired",
                            "metadata.name",
                            "Required value: name or generateName is required",
                        )
                    ],
                )
        self._name_check(rt, meta["name"])
        self._namespace_ready(rt, meta.get("namespace"), meta["name"])
        if rt.status_subresource:
            obj.pop("status", None)  # status is the controller's to write, via /status
        self._schema_pipeline(rt, obj, None, opts)
        for key in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion"):
            meta.pop(key, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now()
        meta["generation"] = 1
        if rt.plural == "namespaces" and not rt.group:
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            obj["status"] = {"phase": "Active"}
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
        if rt.store_key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            crds.validate_crd(obj)
            crds.with_status(obj, now())
        if self.store.get(rt.store_key, meta.get("namespace", ""), meta["name"]) is not None:
            raise errors.already_exists(rt.plural, rt.group, meta["name"])
        if opts.dry_run:
            meta["resourceVersion"] = ""
            return obj
        stored = self.store.put(rt.store_key, obj, None)
        self._after_write(rt, stored)
        return self._out(rt, stored)

    def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Any,
        opts: WriteOptions,
        subresource: str | None = None,
        require_rv: bool = True,
    ) -> Obj:
        obj = self._check_body(rt, body, namespace)
        meta = obj["metadata"]
        if meta.get("name") and meta["name"] != name:
            raise errors.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL "
                f"({name})"
            )
        meta["name"] = name
        old = self.store.get(rt.store_key, namespace or "", name)
        if old is None:
            raise errors.not_found(rt.plural, rt.group, name)
        if meta.get("uid") and meta["uid"] != old["metadata"].get("uid"):
            raise ApiError(
                409,
                "Conflict",
                f"Operation cannot be fulfilled on {errors.qualified(rt.plural, rt.group)} "
                f'"{name}": Precondition failed: UID in precondition: {meta["uid"]}, '
                f"UID in object meta: {old['metadata'].get('uid')}",
                {"name": name, "group": rt.group, "kind": rt.plural},
            )
        rv = meta.get("resourceVersion")
        if rv:
            if rv != old["metadata"]["resourceVersion"]:
                raise errors.conflict(rt.plural, rt.group, name)
        elif require_rv and (rt.custom or rt.store_key in CONDITIONAL_UPDATE):
            raise errors.invalid(
                rt.kind,
                rt.group,
                name,
                [
                    errors.Cause(
                        "FieldValueInvalid",
                        "metadata.resourceVersion",
                        "Invalid value: 0x0: must be specified for an update",
                    )
                ],
            )
        return self._write(rt, old, obj, opts, subresource)

    def _write(
        self, rt: ResourceType, old: Obj, obj: Obj, opts: WriteOptions, subresource: str | None
    ) -> Obj:
        name = old["metadata"]["name"]
        if subresource == "status":
            # Status writes change only status (metadata comes from the stored object).
            status = obj.get("status")
            obj = copy.deepcopy(old)
            if status is None:
                obj.pop("status", None)
            else:
                obj["status"] = status
        elif rt.status_subresource:
            if "status" in old:
                obj["status"] = copy.deepcopy(old["status"])
            else:
                obj.pop("status", None)
        meta = obj["metadata"]
        old_meta = old["metadata"]
        for key in SYSTEM_META:
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)
        meta["namespace"] = old_meta.get("namespace")
        if not meta["namespace"]:
            meta.pop("namespace")
        self._schema_pipeline(rt, obj, old, opts)
        if rt.store_key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            crds.validate_crd(obj)
            crds.with_status(obj, now())
        if rt.plural == "namespaces" and not rt.group and "status" not in obj:
            obj["status"] = old.get("status", {"phase": "Active"})

        deleting = bool(old_meta.get("deletionTimestamp"))
        finalizers = meta.get("finalizers") or []
        if deleting:
            added = [f for f in finalizers if f not in (old_meta.get("finalizers") or [])]
            if added:
                detail = (
                    "no new finalizers can be added if the object is being deleted, found new "
                    "finalizers []string{" + ", ".join(f'"{f}"' for f in added) + "}"
                )
                raise errors.invalid(
                    rt.kind, rt.group, name, [errors.forbidden("metadata.finalizers", detail)]
                )
        if not finalizers:
            meta.pop("finalizers", None)

        if self._content(obj, rt) != self._content(old, rt):
            meta["generation"] = int(old_meta.get("generation", 1)) + 1

        if opts.dry_run:
            return self._out(rt, obj)
        if _same_but_version(old, obj):
            return self._out(rt, old)  # no-op writes keep the resourceVersion, as etcd does
        if deleting and not finalizers:
            stored = self.store.put(rt.store_key, obj, old)
            gone = self._remove(rt, stored)
            return self._out(rt, gone)
        stored = self.store.put(rt.store_key, obj, old)
        self._after_write(rt, stored)
        return self._out(rt, stored)

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        content_type: str,
        raw: bytes,
        opts: WriteOptions,
        subresource: str | None = None,
    ) -> Obj:
        ctype = content_type.split(";")[0].strip()
        old = self.store.get(rt.store_key, namespace or "", name)
        if ctype == "application/apply-patch+yaml":
            return self._apply(rt, namespace, name, raw, old, opts, subresource)
        if old is None:
            raise errors.not_found(rt.plural, rt.group, name)
        body = _decode_json(raw)
        # Every patch function copies what it patches: the stored object stays untouched.
        current = {**old, "apiVersion": rt.api_version, "kind": rt.kind}
        if ctype == "application/json-patch+json":
            result = patch.json_patch(current, body)
        elif ctype == "application/merge-patch+json":
            result = patch.merge_patch(current, body)
        elif ctype == "application/strategic-merge-patch+json":
            result = (
                patch.merge_patch(current, body)
                if rt.custom
                else patch.strategic_merge_patch(current, body)
            )
        else:
            raise errors.unsupported_media_type(ctype)
        if not isinstance(result, dict):
            raise errors.bad_request("patch did not produce an object")
        result_meta = result.setdefault("metadata", {})
        # A patch that carries a resourceVersion is a precondition, as on the real server.
        patched_rv = result_meta.get("resourceVersion")
        if patched_rv and patched_rv != old["metadata"]["resourceVersion"]:
            raise errors.conflict(rt.plural, rt.group, name)
        result_meta["name"] = name
        obj = self._check_body(rt, result, namespace, owned=True)
        return self._write(rt, old, obj, opts, subresource)

    def _apply(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        raw: bytes,
        old: Obj | None,
        opts: WriteOptions,
        subresource: str | None,
    ) -> Obj:
        """Server-side apply approximated as create-or-merge (no field ownership)."""
        if not opts.field_manager:
            raise errors.field_manager_required()
        try:
            body = yaml.safe_load(raw.decode() or "{}")
        except yaml.YAMLError as exc:
            raise errors.bad_request(f"error decoding YAML: {exc}") from exc
        if not isinstance(body, dict):
            raise errors.bad_request("apply patch must be an object")
        meta = body.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != name:
            raise errors.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL "
                f"({name})"
            )
        meta["name"] = name
        manager = opts.field_manager
        applied = _drop_nulls(copy.deepcopy(body))
        if old is None:
            if subresource:
                raise errors.not_found(rt.plural, rt.group, name)
            created = self.create(rt, namespace, body, opts)
            if not opts.dry_run:
                self._applied.setdefault(created["metadata"]["uid"], {})[manager] = applied
            return created
        rv = meta.get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise errors.conflict(rt.plural, rt.group, name)
        current = self._out(rt, copy.deepcopy(old))
        previous = self._applied.get(old["metadata"]["uid"], {}).get(manager)
        if previous is not None:
            _remove_unapplied(current, previous, applied)
        merged = patch.merge_patch(current, applied)
        merged["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        obj = self._check_body(rt, merged, namespace)
        result = self._write(rt, old, obj, opts, subresource)
        if not opts.dry_run:
            self._applied.setdefault(old["metadata"]["uid"], {})[manager] = applied
        return result

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        options: dict[str, Any],
        dry_run: bool = False,
    ) -> Obj:
        old = self.store.get(rt.store_key, namespace or "", name)
        if old is None:
            raise errors.not_found(rt.plural, rt.group, name)
        pre = options.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != old["metadata"].get("uid"):
            raise ApiError(
                409,
                "Conflict",
                f"Operation cannot be fulfilled on {errors.qualified(rt.plural, rt.group)} "
                f'"{name}": '
                f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: "
                f"{old['metadata'].get('uid')}",
                {"name": name, "group": rt.group, "kind": rt.plural},
            )
        if (
            pre.get("resourceVersion")
            and pre["resourceVersion"] != old["metadata"]["resourceVersion"]
        ):
            raise errors.conflict(rt.plural, rt.group, name)
        if dry_run:
            return self._out(rt, old)
        return self._out(rt, self._delete(rt, old))

    def _delete(self, rt: ResourceType, old: Obj) -> Obj:
        meta = old["metadata"]
        if meta.get("deletionTimestamp"):
            return old  # already terminating: nothing changes
        is_namespace = rt.plural == "namespaces" and not rt.group
        if meta.get("finalizers") or is_namespace:
            obj = copy.deepcopy(old)
            obj["metadata"]["deletionTimestamp"] = now()
            obj["metadata"]["deletionGracePeriodSeconds"] = 0
            if is_namespace:
                obj["status"] = {"phase": "Terminating"}
            stored = self.store.put(rt.store_key, obj, old)
            if is_namespace:
                self._empty_namespace(meta["name"])
                return self.store.get(rt.store_key, "", meta["name"]) or stored
            return stored
        return self._remove(rt, old)

    def _remove(self, rt: ResourceType, obj: Obj) -> Obj:
        gone = self.store.remove(rt.store_key, obj)
        self._applied.pop(obj["metadata"].get("uid", ""), None)
        if rt.store_key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            self._drop_crd(obj)
        namespace = obj["metadata"].get("namespace")
        if namespace:
            self._maybe_finish_namespace(namespace)
        return gone

    def _empty_namespace(self, namespace: str) -> None:
        """What the namespace controller does: delete everything inside, honouring
        finalizers; the namespace goes once nothing is left."""
        for rt in self._storage_types():
            if not rt.namespaced:
                continue
            for obj in self.store.objects(rt.store_key):
                if obj["metadata"].get("namespace") == namespace:
                    self._delete(rt, obj)
        self._maybe_finish_namespace(namespace)

    def _maybe_finish_namespace(self, namespace: str) -> None:
        ns = self.store.get(("", "namespaces"), "", namespace)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        for rt in self._storage_types():
            if rt.namespaced and self.store.count(rt.store_key, namespace):
                return
        self.store.remove(("", "namespaces"), ns)

    def _storage_types(self) -> list[ResourceType]:
        seen: dict[tuple[str, str], ResourceType] = {}
        for rt in self.registry.all():
            seen.setdefault(rt.store_key, rt)
        return list(seen.values())

    def delete_collection(
        self,
        rt: ResourceType,
        selection: ObjectFilter,
        options: dict[str, Any],
        dry_run: bool = False,
    ) -> tuple[list[Obj], int]:
        items = [o for o in self.store.objects(rt.store_key) if selection(o)]
        if not dry_run:
            items = [self._delete(rt, o) for o in items]
        return [self._out(rt, o) for o in items], self.store.rv

    # -- scale subresource -------------------------------------------------------
    def get_scale(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        obj = self.get(rt, namespace, name)
        paths = rt.scale or {}
        meta = obj["metadata"]
        status: dict[str, Any] = {
            "replicas": _path_get(obj, paths.get("statusReplicasPath", "")) or 0
        }
        selector = _path_get(obj, paths.get("labelSelectorPath", ""))
        if isinstance(selector, dict):  # a LabelSelector (built-ins): the string form
            selector = ",".join(f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items())
        if selector:
            status["selector"] = selector
        scale_meta = {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        }
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": scale_meta,
            "spec": {"replicas": _path_get(obj, paths.get("specReplicasPath", "")) or 0},
            "status": status,
        }

    def patched_scale(
        self, rt: ResourceType, namespace: str | None, name: str, content_type: str, raw: bytes
    ) -> Obj:
        current = self.get_scale(rt, namespace, name)
        body = _decode_json(raw)
        ctype = content_type.split(";")[0].strip()
        if ctype == "application/json-patch+json":
            result: Obj = patch.json_patch(current, body)
        elif ctype in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            result = patch.merge_patch(current, body)
        else:
            raise errors.unsupported_media_type(ctype)
        return result

    def set_scale(
        self, rt: ResourceType, namespace: str | None, name: str, scale: Any, opts: WriteOptions
    ) -> Obj:
        old = self.store.get(rt.store_key, namespace or "", name)
        if old is None:
            raise errors.not_found(rt.plural, rt.group, name)
        if not isinstance(scale, dict):
            raise errors.bad_request("the body of the request was in an unknown format")
        rv = (scale.get("metadata") or {}).get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise errors.conflict(rt.plural, rt.group, name)
        replicas = (scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise errors.invalid(
                "Scale",
                "autoscaling",
                name,
                [
                    errors.invalid_value(
                        "spec.replicas", replicas, "must be greater than or equal to 0"
                    )
                ],
            )
        obj = self._out(rt, copy.deepcopy(old))
        _path_set(obj, (rt.scale or {}).get("specReplicasPath", ".spec.replicas"), replicas)
        self._write(rt, old, obj, opts, None)
        return self.get_scale(rt, namespace, name)

    # -- side effects of writes ---------------------------------------------------
    def _after_write(self, rt: ResourceType, obj: Obj) -> None:
        self._after_crd_write(rt, obj)
        if rt.store_key == ("apps", "deployments") and self.deployments_ready:
            self._settle_deployment(rt, obj)

    def _settle_deployment(self, rt: ResourceType, obj: Obj) -> None:
        """Stand-in for the deployment controller (there are no Pods): report every
        generation as rolled out and available, so ``helm --wait``/``kubectl rollout
        status`` finish. A separate write, as the real controller's status update is."""
        meta = obj["metadata"]
        status = obj.get("status") or {}
        if meta.get("deletionTimestamp") or status.get("observedGeneration") == meta["generation"]:
            return
        replicas = (obj.get("spec") or {}).get("replicas", 1)
        stamp = now()

        def condition(ctype: str, reason: str, message: str) -> dict[str, Any]:
            return {
                "type": ctype,
                "status": "True",
                "lastUpdateTime": stamp,
                "lastTransitionTime": stamp,
                "reason": reason,
                "message": message,
            }

        settled = copy.deepcopy(obj)
        settled["status"] = {
            "observedGeneration": meta["generation"],
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
            "conditions": [
                condition(
                    "Available", "MinimumReplicasAvailable", "Deployment has minimum availability."
                ),
                condition(
                    "Progressing",
                    "NewReplicaSetAvailable",
                    f'ReplicaSet "{meta["name"]}" has successfully progressed.',
                ),
            ],
        }
        if replicas == 0:
            for key in ("readyReplicas", "availableReplicas", "updatedReplicas", "replicas"):
                settled["status"].pop(key)
        self.store.put(rt.store_key, settled, obj)

    # -- CRDs ------------------------------------------------------------------
    def _after_crd_write(self, rt: ResourceType, crd: Obj) -> None:
        if rt.store_key != ("apiextensions.k8s.io", "customresourcedefinitions"):
            return
        spec = crd["spec"]
        self.registry.remove_crd_resources(spec["group"], spec["names"]["plural"])
        if crd["metadata"].get("deletionTimestamp"):
            return
        for served in crds.resource_types(crd):
            self.registry.add(served)

    def _drop_crd(self, crd: Obj) -> None:
        spec = crd["spec"]
        key = (spec["group"], spec["names"]["plural"])
        for obj in self.store.objects(key):
            self.store.remove(key, obj)
        self.store.drop_key(key)
        self.registry.remove_crd_resources(*key)


# Built-ins whose registry strategy sets AllowCreateOnUpdate (a PUT to a missing name
# creates it) and not AllowUnconditionalUpdate (a PUT must carry the resourceVersion), as
# the real API server's: Leases, which leader election writes with PUT.
CREATE_ON_UPDATE = frozenset({("coordination.k8s.io", "leases")})
CONDITIONAL_UPDATE = frozenset({("coordination.k8s.io", "leases")})


def _builtin_causes(rt: ResourceType, obj: Obj) -> list[errors.Cause]:
    """The API server's own validation of a built-in, where a client relies on it: a
    Lease's duration and transitions (leader election reads them)."""
    if rt.store_key != ("coordination.k8s.io", "leases"):
        return []
    spec = obj.get("spec") or {}
    causes = []
    duration = spec.get("leaseDurationSeconds")
    if isinstance(duration, int) and duration <= 0:
        causes.append(errors.invalid_value("spec.leaseDurationSeconds", duration,
                                           "must be greater than 0"))
    transitions = spec.get("leaseTransitions")
    if isinstance(transitions, int) and transitions < 0:
        causes.append(errors.invalid_value("spec.leaseTransitions", transitions,
                                           "must be greater than or equal to 0"))
    return causes


def _merge_string_data(secret: Obj) -> None:
    """The API server folds a Secret's write-only stringData into data (base64)."""
    string_data = secret.pop("stringData", None)
    if isinstance(string_data, dict):
        data = secret.setdefault("data", {}) or {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        secret["data"] = data


def _decode_json(raw: bytes) -> Any:
    import json

    try:
        return json.loads(raw or b"null")
    except ValueError as exc:
        raise errors.bad_request(f"error decoding patch: {exc}") from exc


def _path_get(obj: Any, path: str) -> Any:
    """Value at a simple ``.a.b`` path (what scale subresource paths are)."""
    for part in [p for p in path.split(".") if p]:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _path_set(obj: Obj, path: str, value: Any) -> None:
    parts = [p for p in path.split(".") if p]
    for part in parts[:-1]:
        obj = obj.setdefault(part, {})
    obj[parts[-1]] = value


def _remove_unapplied(current: Any, previous: Any, applied: Any) -> None:
    """Delete from ``current`` the fields ``previous`` applied and ``applied`` no longer
    does (field ownership without managedFields: one manager's own fields only)."""
    if not (isinstance(current, dict) and isinstance(previous, dict)):
        return
    applied = applied if isinstance(applied, dict) else {}
    for key, value in previous.items():
        if key in ("apiVersion", "kind") or key not in current:
            continue
        if key not in applied:
            del current[key]
        elif isinstance(value, dict):
            _remove_unapplied(current[key], value, applied[key])


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    return value


def _same_but_version(old: Obj, new: Obj) -> bool:
    """Equal apart from metadata.resourceVersion (a no-op write), without copying either."""
    if old.keys() != new.keys():
        return False
    for key, value in old.items():
        if key != "metadata":
            if value != new[key]:
                return False
            continue
        other = new[key]
        names = (set(value) | set(other)) - {"resourceVersion"}
        if any(value.get(n, _MISSING) != other.get(n, _MISSING) for n in names):
            return False
    return True


_MISSING = object()
