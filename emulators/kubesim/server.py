"""HTTP layer: path parsing, verbs, watch streaming, discovery, admin endpoints."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import yaml
from aiohttp import web
from multidict import CIMultiDict

from . import discovery, errors, openapi, proto, table
from .api import CREATE_ON_UPDATE, Api, WriteOptions
from .errors import ApiError
from .resources import Registry, ResourceType
from .selectors import ObjectFilter
from .store import Event, Store, Watcher

log = logging.getLogger(__name__)

VERSION_INFO = {
    "major": "1",
    "minor": "37",
    "emulationMajor": "1",
    "emulationMinor": "37",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "36",
    "gitVersion": "v1.37.0",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.25.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}
INITIAL_EVENTS_END = "k8s.io/initial-events-end"
# At most this many events per write of a watch stream (see _stream_live).
WATCH_BATCH = 256


@dataclass
class Target:
    """A parsed resource path."""

    group: str
    version: str
    plural: str
    namespace: str | None
    name: str | None
    subresource: str | None
    legacy_watch: bool


@dataclass
class Fault:
    method: str
    path_regex: re.Pattern[str]
    status: int
    count: int
    reason: str
    message: str
    # Delay before answering; with no status, the request then proceeds normally.
    latency_ms: int = 0


def parse_resource_path(path: str) -> Target | None:
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    legacy_watch = bool(rest) and rest[0] == "watch"
    if legacy_watch:
        rest = rest[1:]
    if not rest:
        return None
    namespace = None
    # /namespaces/{ns}/{plural}...: a namespaced resource, unless it is the
    # namespace's own subresource (/namespaces/{ns}/status|finalize).
    if (
        rest[0] == "namespaces"
        and len(rest) >= 3
        and not (len(rest) == 3 and rest[2] in ("status", "finalize"))
    ):
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        return None
    plural = rest[0]
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    return Target(group, version, plural, namespace, name, sub, legacy_watch)


def _json(body: Any, status: int = 200, headers: CIMultiDict[str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def _error(err: ApiError) -> web.Response:
    return _json(err.status(), status=err.code)


class KubeSim:
    def __init__(
        self, history: int = 2000, bookmark_interval: float = 15.0, deployments_ready: bool = True
    ) -> None:
        self.store = Store(history=history)
        self.registry = Registry()
        self.api = Api(self.store, self.registry, deployments_ready=deployments_ready)
        self.bookmark_interval = bookmark_interval
        self.counters: Counter[str] = Counter()
        self.faults: list[Fault] = []
        self.expire_next_watches = 0
        self.server_address = "127.0.0.1:0"

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        return app

    def _creates_on_update(
        self, rt: ResourceType, namespace: str | None, name: str, sub: str | None, body: Any
    ) -> bool:
        """A PUT that creates: the kind allows it, the name is free, and the body names no
        other object and carries no resourceVersion (else update() answers as usual)."""
        if sub is not None or rt.store_key not in CREATE_ON_UPDATE or not isinstance(body, dict):
            return False
        if self.store.get(rt.store_key, namespace or "", name) is not None:
            return False
        meta = body.setdefault("metadata", {})
        if not isinstance(meta, dict) or meta.get("resourceVersion"):
            return False
        if meta.get("name", name) != name:
            return False
        meta["name"] = name
        return True

    # -- dispatch --------------------------------------------------------------
    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        log.debug("%s %s accept=%s", request.method, request.path_qs, request.headers.get("Accept"))
        try:
            if path.startswith("/_kubesim/"):
                return await self._admin(request)
            if path in ("/healthz", "/readyz", "/livez") or path.startswith(
                ("/healthz/", "/readyz/", "/livez/")
            ):
                return web.Response(text="ok")
            if path == "/version":
                return _json(VERSION_INFO)
            fault = self._take_fault(request)
            if fault is not None and fault.latency_ms:
                await asyncio.sleep(fault.latency_ms / 1000)
            if fault is not None and fault.status:
                return _json(
                    errors.status_object(fault.status, fault.reason, fault.message),
                    status=fault.status,
                )
            if path.startswith("/openapi/"):
                return self._openapi(request)
            doc = self._discovery(path)
            if doc is not None:
                if request.method != "GET":
                    raise errors.method_not_allowed()
                return _json(doc)
            target = parse_resource_path(path)
            if target is None:
                raise errors.resource_not_found()
            return await self._resource(request, target)
        except ApiError as err:
            if err.code >= 500:
                log.error("%s %s -> %s", request.method, path, err.message)
            return _error(err)
        except Exception:
            log.exception("%s %s failed", request.method, path)
            return _error(
                ApiError(
                    500,
                    "InternalError",
                    "an error on the server has prevented the request from succeeding",
                )
            )

    def _take_fault(self, request: web.Request) -> Fault | None:
        for fault in self.faults:
            if fault.method not in ("*", request.method):
                continue
            if not fault.path_regex.search(request.path_qs):
                continue
            fault.count -= 1
            if fault.count <= 0:
                self.faults.remove(fault)
            return fault
        return None

    def _discovery(self, path: str) -> dict[str, Any] | None:
        parts = [p for p in path.split("/") if p]
        if parts == ["api"]:
            return discovery.api_versions(self.server_address)
        if parts == ["apis"]:
            return discovery.api_group_list(self.registry)
        if len(parts) == 2 and parts[0] == "api":
            return discovery.resource_list(self.registry, "", parts[1]) or _raise_not_found()
        if len(parts) == 2 and parts[0] == "apis":
            return discovery.api_group(self.registry, parts[1]) or _raise_not_found()
        if len(parts) == 3 and parts[0] == "apis":
            return discovery.resource_list(self.registry, parts[1], parts[2]) or _raise_not_found()
        return None

    def _openapi(self, request: web.Request) -> web.Response:
        parts = [p for p in request.path.split("/") if p]
        if parts == ["openapi", "v2"]:
            accept = request.headers.get("Accept", "")
            if "protobuf" in accept and "json" not in accept:
                # kubesim cannot encode the gnostic protobuf form.
                raise ApiError(406, "NotAcceptable", "only application/json is supported")
            return _json(openapi.v2(self.registry))
        if parts == ["openapi", "v3"]:
            return _json(openapi.v3_root(self.registry))
        if len(parts) >= 4 and parts[:2] == ["openapi", "v3"]:
            rest = parts[2:]
            if rest[0] == "api" and len(rest) == 2:
                doc = openapi.v3_group_version(self.registry, "", rest[1])
            elif rest[0] == "apis" and len(rest) == 3:
                doc = openapi.v3_group_version(self.registry, rest[1], rest[2])
            else:
                doc = None
            if doc is not None:
                return _json(doc)
        raise errors.resource_not_found()

    # -- resources -------------------------------------------------------------
    async def _resource(self, request: web.Request, target: Target) -> web.StreamResponse:
        rt = self.api.resolve(target.group, target.version, target.plural)
        if target.subresource not in (None, "status", "scale"):
            raise errors.resource_not_found()
        if target.subresource == "scale":
            if rt.scale is None or target.name is None:
                raise errors.resource_not_found()
            return await self._scale(request, rt, target.namespace, target.name)
        if target.subresource == "status" and not rt.status_subresource:
            raise errors.resource_not_found()
        if rt.namespaced is False and target.namespace is not None:
            raise errors.resource_not_found()
        q = request.query
        method = request.method
        namespace = target.namespace
        if rt.review:
            if method != "POST" or target.name is not None:
                raise errors.method_not_allowed()
            self._count("create", rt)
            return _json(_review_answer(rt, await self._body(request)), 201)
        if target.name is None:
            selection = ObjectFilter(namespace, q.get("labelSelector"), q.get("fieldSelector"))
            if method == "GET":
                if target.legacy_watch or q.get("watch") in ("true", "1"):
                    self._count("watch", rt)
                    return await self._watch(request, rt, selection)
                self._count("list", rt)
                return self._list(request, rt, selection)
            if method == "POST":
                self._count("create", rt)
                if rt.namespaced and namespace is None:
                    raise errors.resource_not_found()
                opts = self._write_options(request)
                opts.decode_context = True
                obj = self.api.create(rt, namespace, await self._body(request), opts)
                return self._object(request, rt, obj, 201, opts)
            if method == "DELETE":
                self._count("deletecollection", rt)
                options = await self._delete_options(request)
                items, rv = self.api.delete_collection(rt, selection, options, _dry_run(request))
                return _json(self._list_body(rt, items, rv))
            raise errors.method_not_allowed()
        if rt.namespaced and namespace is None:
            raise errors.resource_not_found()
        name = target.name
        if method == "GET":
            self._count("get", rt)
            return self._object(request, rt, self.api.get(rt, namespace, name))
        if method == "PUT":
            self._count("update", rt)
            opts = self._write_options(request)
            opts.decode_context = True
            body = await self._body(request)
            if self._creates_on_update(rt, namespace, name, target.subresource, body):
                obj = self.api.create(rt, namespace, body, opts)
                return self._object(request, rt, obj, 201, opts)
            obj = self.api.update(rt, namespace, name, body, opts, target.subresource)
            return self._object(request, rt, obj, 200, opts)
        if method == "PATCH":
            self._count("patch", rt)
            opts = self._write_options(request)
            obj = self.api.patch(
                rt,
                namespace,
                name,
                request.headers.get("Content-Type", ""),
                await request.read(),
                opts,
                target.subresource,
            )
            return self._object(request, rt, obj, 200, opts)
        if method == "DELETE" and target.subresource is None:
            self._count("delete", rt)
            options = await self._delete_options(request)
            obj = self.api.delete(rt, namespace, name, options, _dry_run(request))
            still_there = self.store.get(rt.store_key, namespace or "", name) is not None
            return self._object(request, rt, obj, 202 if still_there else 200)
        raise errors.method_not_allowed()

    async def _scale(
        self, request: web.Request, rt: ResourceType, namespace: str | None, name: str
    ) -> web.Response:
        verbs = {"GET": "get", "PUT": "update", "PATCH": "patch"}
        if request.method not in verbs:
            raise errors.method_not_allowed()
        self._count(verbs[request.method], rt, "scale")
        if request.method == "GET":
            return _json(self.api.get_scale(rt, namespace, name))
        opts = self._write_options(request)
        if request.method == "PUT":
            scale = await self._body(request)
        else:
            scale = self.api.patched_scale(
                rt, namespace, name, request.headers.get("Content-Type", ""), await request.read()
            )
        return _json(self.api.set_scale(rt, namespace, name, scale, opts))

    def _count(self, verb: str, rt: ResourceType, subresource: str | None = None) -> None:
        resource = errors.qualified(rt.plural, rt.group)
        if subresource:
            resource += f"/{subresource}"
        self.counters[f"{verb} {resource}"] += 1

    def _write_options(self, request: web.Request) -> WriteOptions:
        validation = request.query.get("fieldValidation", "Warn")
        if validation not in ("Strict", "Warn", "Ignore"):
            raise errors.bad_request(
                f'fieldValidation parameter unsupported: "{validation}". Must be one of: Ignore, '
                "Warn, Strict"
            )
        return WriteOptions(
            field_validation=validation,
            dry_run=_dry_run(request),
            field_manager=request.query.get("fieldManager"),
            force=request.query.get("force") == "true",
        )

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        ctype = request.headers.get("Content-Type", "application/json").split(";")[0].strip()
        try:
            if ctype in ("application/yaml", "application/x-yaml", "text/yaml"):
                return yaml.safe_load(raw.decode())
            if ctype == proto.PROTOBUF:
                return proto.decode(raw)
            return json.loads(raw or b"null")
        except (ValueError, yaml.YAMLError) as exc:
            raise errors.bad_request(f"error decoding request body: {exc}") from exc

    async def _delete_options(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        options: dict[str, Any] = {}
        if raw.strip():
            options = await self._body(request)
        for key in ("propagationPolicy", "gracePeriodSeconds"):
            if key in request.query:
                options[key] = request.query[key]
        return options if isinstance(options, dict) else {}

    def _object(
        self,
        request: web.Request,
        rt: ResourceType,
        obj: dict[str, Any],
        status: int = 200,
        opts: WriteOptions | None = None,
    ) -> web.Response:
        headers: CIMultiDict[str] = CIMultiDict()
        for warning in opts.warnings if opts else []:
            # One Warning header per message, as kube-apiserver sends them.
            escaped = warning.replace("\\", "\\\\").replace('"', '\\"')
            headers.add("Warning", f'299 - "{escaped}"')
        form = table.preferred_form(request.headers.get("Accept", ""))
        if form == "Table":
            return _json(
                table.table(
                    rt,
                    [obj],
                    obj["metadata"].get("resourceVersion", ""),
                    request.query.get("includeObject", "Metadata"),
                ),
                status,
                headers,
            )
        if form == "PartialObjectMetadata":
            return _json(table.partial_metadata(obj), status, headers)
        return _json(obj, status, headers)

    def _list_body(self, rt: ResourceType, items: list[dict[str, Any]], rv: int) -> dict[str, Any]:
        return {
            "kind": f"{rt.kind}List",
            "apiVersion": rt.api_version,
            "metadata": {"resourceVersion": str(rv)},
            "items": items,
        }

    def _list(
        self, request: web.Request, rt: ResourceType, selection: ObjectFilter
    ) -> web.Response:
        items, rv = self.api.list_objects(rt, selection)
        form = table.preferred_form(request.headers.get("Accept", ""))
        if form == "Table":
            return _json(
                table.table(rt, items, str(rv), request.query.get("includeObject", "Metadata"))
            )
        if form == "PartialObjectMetadataList":
            return _json(
                {
                    "kind": "PartialObjectMetadataList",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": {"resourceVersion": str(rv)},
                    "items": [table.partial_metadata(i) for i in items],
                }
            )
        return _json(self._list_body(rt, items, rv))

    # -- watch -----------------------------------------------------------------
    async def _watch(
        self, request: web.Request, rt: ResourceType, selection: ObjectFilter
    ) -> web.StreamResponse:
        q = request.query
        form = table.preferred_form(request.headers.get("Accept", ""))
        as_table = form == "Table"
        as_metadata = form == "PartialObjectMetadata"
        include = q.get("includeObject", "Metadata")
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        send_initial = q.get("sendInitialEvents") == "true"
        rv_param = q.get("resourceVersion", "")
        timeout = float(q["timeoutSeconds"]) if q.get("timeoutSeconds") else None
        if rv_param and not rv_param.isdigit():
            raise errors.bad_request(f'invalid resource version "{rv_param}"')
        if send_initial and q.get("resourceVersionMatch") not in (None, "NotOlderThan"):
            raise errors.invalid(
                "",
                "",
                "",
                [
                    errors.Cause(
                        "FieldValueForbidden",
                        "resourceVersionMatch",
                        "Forbidden: sendInitialEvents requires setting resourceVersionMatch to "
                        "NotOlderThan",
                    )
                ],
            )

        # Subscribe before reading the snapshot/history so no write falls in between.
        watcher = self.store.subscribe(rt.store_key)
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await response.prepare(request)

        def encode(kind: str, obj: dict[str, Any]) -> bytes:
            if as_metadata and kind != "ERROR":
                obj = table.partial_metadata(obj)
            if as_table and kind != "ERROR":
                if kind == "BOOKMARK":
                    obj = {
                        "kind": "Table",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": obj["metadata"],
                        "columnDefinitions": None,
                        "rows": None,
                    }
                else:
                    obj = table.table(
                        rt, [obj], obj["metadata"].get("resourceVersion", ""), include
                    )
            return json.dumps({"type": kind, "object": obj}, separators=(",", ":")).encode() + b"\n"

        def bookmark(rv: int, initial_end: bool = False) -> bytes:
            meta: dict[str, Any] = {"resourceVersion": str(rv)}
            if initial_end:
                meta["annotations"] = {INITIAL_EVENTS_END: "true"}
            return encode(
                "BOOKMARK", {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": meta}
            )

        try:
            if self.expire_next_watches > 0:
                self.expire_next_watches -= 1
                await response.write(
                    encode("ERROR", errors.expired(int(rv_param or 0), self.store.rv).status())
                )
                return response
            last_rv = 0
            if send_initial or rv_param in ("", "0"):
                snapshot, last_rv = self.api.list_objects(rt, selection)
                for obj in snapshot:
                    await response.write(encode("ADDED", obj))
                if send_initial:
                    await response.write(bookmark(last_rv, initial_end=True))
            else:
                last_rv = int(rv_param)
                try:
                    backlog = self.store.events_since(rt.store_key, last_rv)
                except ApiError as err:
                    # The real server answers 200 and an ERROR event carrying 410 Expired.
                    await response.write(encode("ERROR", err.status()))
                    return response
                for event in backlog:
                    line = self._translate(event, rt, selection, encode)
                    if line:
                        await response.write(line)
                    last_rv = event.rv
            await self._stream_live(
                response, watcher, rt, selection, encode, bookmark, bookmarks, timeout, last_rv
            )
        except ConnectionResetError:
            pass  # the client went away; cancellation (hang-up, shutdown) propagates
        finally:
            self.store.unsubscribe(watcher)
        return response

    async def _stream_live(
        self,
        response: web.StreamResponse,
        watcher: Watcher,
        rt: ResourceType,
        selection: ObjectFilter,
        encode: Any,
        bookmark: Any,
        bookmarks: bool,
        lifetime: float | None,
        last_rv: int,
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + lifetime if lifetime is not None else None
        next_bookmark = loop.time() + self.bookmark_interval
        while True:
            wait = None if deadline is None else deadline - loop.time()
            if bookmarks:
                until_bookmark = max(0.0, next_bookmark - loop.time())
                wait = until_bookmark if wait is None else min(wait, until_bookmark)
            if wait is not None and wait <= 0 and deadline is not None and loop.time() >= deadline:
                return
            try:
                event = await asyncio.wait_for(watcher.queue.get(), timeout=wait)
            except TimeoutError:
                if deadline is not None and loop.time() >= deadline:
                    return
                if bookmarks and loop.time() >= next_bookmark:
                    await response.write(bookmark(max(last_rv, self.store.rv)))
                    next_bookmark = loop.time() + self.bookmark_interval
                continue
            # Everything already queued goes out in one write: one event per write left this
            # stream one event per turn of a busy loop, so a burst's events (and any other
            # namespace's behind them) reached watchers seconds late. The real server has a
            # goroutine per watch and is never that far behind.
            batch: list[bytes] = []
            closed = False
            while event is not None:
                if event.rv > last_rv:
                    line = self._translate(event, rt, selection, encode)
                    if line:
                        batch.append(line)
                    last_rv = event.rv
                if watcher.queue.empty() or len(batch) >= WATCH_BATCH:
                    break
                event = watcher.queue.get_nowait()
            else:
                closed = True  # closed by admin or shutdown
            if batch:
                await response.write(b"".join(batch))
            if closed:
                return

    @staticmethod
    def _translate(
        event: Event, rt: ResourceType, selection: ObjectFilter, encode: Any
    ) -> bytes | None:
        """Selector-aware event type: leaving the selection is DELETED, entering is ADDED."""
        obj = dict(event.obj)
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        now_in = selection(event.obj)
        was_in = event.old is not None and selection(event.old)
        if event.type == "MODIFIED":
            if now_in and was_in:
                kind = "MODIFIED"
            elif now_in:
                kind = "ADDED"
            elif was_in:
                kind = "DELETED"
            else:
                return None
        elif event.type == "DELETED":
            if not (now_in or was_in):
                return None
            kind = "DELETED"
        else:
            if not now_in:
                return None
            kind = event.type
        result: bytes = encode(kind, obj)
        return result

    def close_watches(self) -> int:
        return self.store.close_watchers()

    # -- admin -----------------------------------------------------------------
    async def _admin(self, request: web.Request) -> web.Response:
        path = request.path
        if path == "/_kubesim/counters" and request.method == "GET":
            return _json(
                {
                    "counters": dict(sorted(self.counters.items())),
                    "resourceVersion": str(self.store.rv),
                }
            )
        if request.method != "POST":
            raise errors.method_not_allowed()
        if path == "/_kubesim/reset":
            self.counters.clear()
            self.faults.clear()
            self.expire_next_watches = 0
            return _json({"ok": True})
        if path == "/_kubesim/compact":
            self.store.compact()
            return _json({"compactedResourceVersion": str(self.store.compacted_rv)})
        if path == "/_kubesim/watches/close":
            return _json({"closed": self.close_watches()})
        if path == "/_kubesim/watches/expire-next":
            body = await _optional_json(request)
            self.expire_next_watches += int(body.get("count", 1))
            return _json({"expireNext": self.expire_next_watches})
        if path == "/_kubesim/faults":
            body = await _optional_json(request)
            latency = int(body.get("latencyMs", 0))
            status = int(body.get("status", 0 if latency else 500))
            reason = body.get("reason") or _REASONS.get(status, "InternalError")
            fault = Fault(
                method=str(body.get("method", "*")).upper(),
                path_regex=re.compile(body.get("pathRegex", ".*")),
                status=status,
                count=int(body.get("count", 1)),
                reason=reason,
                message=body.get("message") or f"kubesim injected fault ({status})",
                latency_ms=latency,
            )
            self.faults.append(fault)
            return _json({"faults": len(self.faults)})
        raise errors.resource_not_found()


_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    410: "Expired",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


async def _optional_json(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    body = json.loads(raw)
    if not isinstance(body, dict):
        raise errors.bad_request("expected a JSON object")
    return body


def _review_answer(rt: ResourceType, body: Any) -> dict[str, Any]:
    """Access reviews are allowed; the caller is a cluster admin."""
    answer = dict(body) if isinstance(body, dict) else {}
    answer.update({"apiVersion": rt.api_version, "kind": rt.kind})
    answer.setdefault("metadata", {})["creationTimestamp"] = None
    if rt.kind == "SelfSubjectReview":
        answer["status"] = {
            "userInfo": {
                "username": "kubesim-admin",
                "groups": ["system:masters", "system:authenticated"],
            }
        }
    else:
        answer["status"] = {"allowed": True, "reason": "kubesim authorizes every request"}
    return answer


def _raise_not_found() -> dict[str, Any]:
    raise errors.resource_not_found()


def _dry_run(request: web.Request) -> bool:
    return bool(request.query.get("dryRun"))
