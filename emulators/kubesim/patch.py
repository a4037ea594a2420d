"""JSON merge patch (RFC 7386), JSON patch (RFC 6902) and a schema-less strategic
merge patch good enough for what kubectl sends for built-in kinds."""

from __future__ import annotations

import copy
from typing import Any

from .errors import ApiError, bad_request, patch_rejected


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# Lists the built-in kinds declare with patchStrategy=merge, by field name, with their
# patchMergeKey candidates. Any other list is atomic: the patch replaces it.
_MERGE_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "volumes": ("name",),
    "imagePullSecrets": ("name",),
    "env": ("name",),
    "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",),
    "ports": ("containerPort", "port"),
    "hostAliases": ("ip",),
    "conditions": ("type",),
    "ownerReferences": ("uid",),
    "topologySpreadConstraints": ("topologyKey",),
    "webhooks": ("name",),
}
# Primitive lists with patchStrategy=merge: patch entries are added, not substituted.
_MERGED_PRIMITIVES = {"finalizers"}


def _merge_key(field: str, items: list[Any]) -> str | None:
    for key in _MERGE_KEYS.get(field, ()):
        if items and all(isinstance(i, dict) and key in i for i in items):
            return key
    return None


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Strategic merge patch without Go struct tags: known merge lists are merged by
    their merge key, other lists replaced; ``$``-directives are honoured or dropped."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and isinstance(result.get(key), list):
            order = patch.get(f"$setElementOrder/{key}")
            result[key] = _merge_list(key, result[key], value, order)
        elif isinstance(value, list):
            result[key] = [copy.deepcopy(v) for v in value if not _is_directive(v)]
        else:
            result[key] = strategic_merge_patch(result.get(key), value)
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = [v for v in result[field] if v not in value]
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(
    field: str, current: list[Any], patch: list[Any], order: list[Any] | None
) -> list[Any]:
    entries = [p for p in patch if not _is_directive(p)]
    if field in _MERGED_PRIMITIVES:
        from_patch = list(dict.fromkeys(entries))
        merged_values = _server_order_merge(
            from_patch, [v for v in current if v not in from_patch], current)
        if order:
            return [v for v in order if v in merged_values] + [
                v for v in merged_values if v not in order
            ]
        return merged_values
    key = _merge_key(field, [*current, *entries])
    if key is None:
        return copy.deepcopy(entries)
    merged = {item[key]: copy.deepcopy(item) for item in current}
    sequence = [item[key] for item in current]
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            continue
        name = item[key]
        if item.get("$patch") == "delete":
            merged.pop(name, None)
            continue
        if name in merged:
            merged[name] = strategic_merge_patch(merged[name], item)
        else:
            merged[name] = {k: v for k, v in item.items() if not k.startswith("$")}
            sequence.append(name)
    if order:
        wanted = [o.get(key) for o in order if isinstance(o, dict)]
        sequence = [n for n in wanted if n in merged] + [n for n in sequence if n not in wanted]
    return [merged[n] for n in sequence if n in merged]


def _server_order_merge(from_patch: list[Any], server_only: list[Any],
                        server_order: list[Any]) -> list[Any]:
    """apimachinery's mergeSortedSlice: the patch's items and the server's other items
    interleaved by their order on the server; an item new to the server goes before the
    server item it meets (so a new finalizer comes first)."""
    out: list[Any] = []
    i = j = 0
    while i < len(from_patch) or j < len(server_only):
        if i >= len(from_patch):
            out.append(server_only[j])
            j += 1
        elif j >= len(server_only):
            out.append(from_patch[i])
            i += 1
        elif (from_patch[i] in server_order
              and server_order.index(server_only[j]) < server_order.index(from_patch[i])):
            out.append(server_only[j])
            j += 1
        else:
            out.append(from_patch[i])
            i += 1
    return out


def _is_directive(item: Any) -> bool:
    return isinstance(item, dict) and "$patch" in item


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f"invalid JSON pointer: {path!r}")
    return [_unescape(t) for t in path[1:].split("/")]


def _walk(doc: Any, tokens: list[str], path: str) -> Any:
    cur = doc
    for tok in tokens:
        if isinstance(cur, dict):
            if tok not in cur:
                raise _missing(path)
            cur = cur[tok]
        elif isinstance(cur, list):
            idx = _index(tok, len(cur) - 1, path)
            cur = cur[idx]
        else:
            raise _missing(path)
    return cur


def _index(tok: str, upper: int, path: str) -> int:
    if not tok.isdigit():
        raise _missing(path)
    idx = int(tok)
    if idx > upper:
        raise _missing(path)
    return idx


def _missing(path: str) -> ApiError:
    return patch_rejected(f'doc is missing path: "{path}": missing value')


def _add(doc: Any, path: str, value: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return copy.deepcopy(value)
    parent = _walk(doc, tokens[:-1], path)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = copy.deepcopy(value)
    elif isinstance(parent, list):
        if last == "-":
            parent.append(copy.deepcopy(value))
        else:
            parent.insert(_index(last, len(parent), path), copy.deepcopy(value))
    else:
        raise _missing(path)
    return doc


def _remove(doc: Any, path: str) -> tuple[Any, Any]:
    tokens = _pointer(path)
    if not tokens:
        raise bad_request("jsonpatch: cannot remove the document root")
    parent = _walk(doc, tokens[:-1], path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise patch_rejected(
                f"remove operation does not apply: doc is missing path: {path}: missing value"
            )
        return doc, parent.pop(last)
    if isinstance(parent, list):
        return doc, parent.pop(_index(last, len(parent) - 1, path))
    raise _missing(path)


def json_patch(doc: Any, ops: Any) -> Any:
    if not isinstance(ops, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise bad_request("json patch operation must have 'op' and 'path'")
        kind, path = op["op"], op["path"]
        if kind == "add":
            doc = _add(doc, path, op.get("value"))
        elif kind == "remove":
            doc, _ = _remove(doc, path)
        elif kind == "replace":
            _walk(doc, _pointer(path), path)  # must exist
            doc, _ = _remove(doc, path) if _pointer(path) else (doc, None)
            doc = _add(doc, path, op.get("value"))
        elif kind == "move":
            doc, value = _remove(doc, op["from"])
            doc = _add(doc, path, value)
        elif kind == "copy":
            value = _walk(doc, _pointer(op["from"]), op["from"])
            doc = _add(doc, path, value)
        elif kind == "test":
            try:
                actual = _walk(doc, _pointer(path), path)
            except ApiError:
                actual = None
            if actual != op.get("value"):
                # The real server answers 422 for a failed test (Kopf relies on it).
                raise patch_rejected(f"testing value {path} failed: test failed")
        else:
            raise bad_request(f"Unexpected kind: {kind}")
    return doc
