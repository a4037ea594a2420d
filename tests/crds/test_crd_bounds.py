"""Bounded input: every string, list and map of both CRDs has a cap, and `kubectl apply`
refuses a value one past each cap. The cases are generated from the schemas, so a new
field without a cap fails the walk, and a new cap gets its own refusal test."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from helpers.crds import (
    SERVER_OWNED,
    Field,
    Kubectl,
    Obj,
    cap_of,
    fields,
    is_map,
    manifest,
    node_at,
    refusals,
    set_at,
    specs,
    status,
)

KINDS = ("BatchPool", "ManagedImage")


def capped(part: str) -> list[Field]:
    return [f for kind in KINDS for f in fields(kind)
            if f.path[0] == part and cap_of(f.schema) is not None]


SPEC_CAPS = capped("spec")
STATUS_CAPS = capped("status")


def test_every_string_list_and_map_has_a_cap() -> None:
    missing = [f"{f.kind} {f.name} lacks {cap[0]}" for kind in KINDS for f in fields(kind)
               if f.path not in SERVER_OWNED and (cap := cap_of(f.schema)) and cap[1] < 0]
    assert missing == []
    # The walk reaches deep fields (list items, map values), not just the top level.
    names = {f.name for f in SPEC_CAPS}
    assert {"spec.startTask.environmentSettings[].value", "spec.tags{}",
            "spec.source.vhd.dataDisks[].blobUri"} <= names


def test_every_spec_map_bounds_its_keys_too() -> None:
    # maxLength cannot reach map keys; a CEL rule on the map must.
    maps = [f for f in SPEC_CAPS if is_map(f.schema)]
    assert maps, "no map in the specs?"
    for f in maps:
        rules = [r["rule"] for r in f.schema.get("x-kubernetes-validations") or []]
        assert any("size(k) <=" in r for r in rules), f"{f.kind} {f.name} keys are unbounded"


def over_limit(node: Obj, current: Any) -> Any:
    """A value one past the node's cap, built from a valid one."""
    keyword, limit = cap_of(node) or ("", 0)
    if keyword == "maxLength":
        text = current if isinstance(current, str) else ""
        return text + "a" * (limit + 1 - len(text))
    if keyword == "maxItems":
        keys = node.get("x-kubernetes-list-map-keys") or []
        items = []
        for i in range(limit + 1):
            item = copy.deepcopy(current[0])
            for key in keys:  # distinct map keys: the cap, not a duplicate, is what fails
                item[key] = i if isinstance(item[key], int) else f"{item[key]}{i}"
            items.append(item)
        return items
    first = next(iter(current.values()))
    return {f"k{i}": first for i in range(limit + 1)}


def expected_error(field: Field, base: Any) -> str:
    """A regex for the API server's cause, e.g. spec.metadata[0].name: Too long: ..."""
    pattern = ""
    node = base
    for token in field.path:
        if token == "[]":
            pattern += r"\[0\]"
            node = node[0]
        elif token == "{}":
            key = re.escape(next(iter(node)))
            pattern += rf"(\.{key}|\[{key}\])"
            node = next(iter(node.values()))
        else:
            pattern += ("." if pattern else "") + re.escape(token)
            node = node[token]
    keyword, limit = cap_of(field.schema) or ("", 0)
    if keyword == "maxLength":
        return pattern + rf": Too long: [^,\]]*\b{limit}\b"
    return pattern + rf": Too many: {limit + 1}: must have at most {limit} items"


def spec_case(field: Field) -> tuple[Obj, Obj]:
    """(valid object holding the field, the same object with the field over its cap)."""
    for spec in specs(field.kind):
        obj = manifest(field.kind, "x", spec)
        try:
            current = node_at(obj, field.path)
        except (KeyError, IndexError, StopIteration):
            continue
        bad = copy.deepcopy(obj)
        set_at(bad, field.path, over_limit(field.schema, current))
        return obj, bad
    raise AssertionError(f"no valid {field.kind} in crd_support.specs() sets {field.name}")


def case_name(field: Field) -> str:
    return f"cap-{field.kind.lower()}-{SPEC_CAPS.index(field)}"


@pytest.fixture(scope="module")
def spec_refusals(kubectl: Kubectl) -> dict[str, str]:
    """One `kubectl apply --dry-run=server` of every over-limit object."""
    objs = []
    for field in SPEC_CAPS:
        _, bad = spec_case(field)
        bad["metadata"]["name"] = case_name(field)
        objs.append(bad)
    result = kubectl.apply(objs, "--dry-run=server", check=False)
    return refusals(result.stderr)


def test_valid_objects_covering_every_field_are_accepted(kubectl: Kubectl) -> None:
    objs = [manifest(kind, f"ok-{kind.lower()}-{i}", spec)
            for kind in KINDS for i, spec in enumerate(specs(kind))]
    out = kubectl.apply(objs, "--dry-run=server").stdout
    assert out.count("created (server dry run)") == len(objs), out


@pytest.mark.parametrize("field", SPEC_CAPS, ids=lambda f: f"{f.kind}:{f.name}")
def test_kubectl_apply_refuses_a_value_over_the_cap(field: Field,
                                                    spec_refusals: dict[str, str]) -> None:
    good, _ = spec_case(field)
    line = spec_refusals.get(case_name(field))
    assert line is not None, f"{field.kind} {field.name} over its cap was accepted"
    assert re.search(expected_error(field, good), line), line


def test_tag_names_longer_than_azure_allows_are_refused(kubectl: Kubectl) -> None:
    spec = specs("ManagedImage")[0]
    at_limit = manifest("ManagedImage", "tags-512", {**spec, "tags": {"k" * 512: "v"}})
    over = manifest("ManagedImage", "tags-513", {**spec, "tags": {"k" * 513: "v"}})
    result = kubectl.apply([at_limit, over], "--dry-run=server", check=False)
    assert "tags-512 created (server dry run)" in result.stdout
    assert "spec.tags: Invalid value: tag names may be at most 512 characters " \
           "long" in refusals(result.stderr)["tags-513"]


@pytest.fixture(scope="module")
def live(kubectl: Kubectl) -> dict[str, str]:
    """One stored object per kind whose status the status cases patch."""
    names = {kind: f"status-{kind.lower()}" for kind in KINDS}
    kubectl.apply([manifest(kind, name, specs(kind)[0]) for kind, name in names.items()])
    return names


def patch_status(kubectl: Kubectl, kind: str, name: str, body: Obj, tmp: Path) -> Any:
    patch = tmp / "status-patch.json"
    patch.write_text(json.dumps({"status": body}))
    return kubectl("patch", kind.lower(), name, "--subresource=status", "--type=merge",
                   "--dry-run=server", "--patch-file", str(patch), check=False)


def test_a_full_status_is_accepted(kubectl: Kubectl, live: dict[str, str],
                                   tmp_path: Path) -> None:
    for kind, name in live.items():
        result = patch_status(kubectl, kind, name, status(kind), tmp_path)
        assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("field", STATUS_CAPS, ids=lambda f: f"{f.kind}:{f.name}")
def test_status_over_the_cap_is_refused(field: Field, kubectl: Kubectl, live: dict[str, str],
                                        tmp_path: Path) -> None:
    good = {"status": status(field.kind)}
    bad = copy.deepcopy(good)
    set_at(bad, field.path, over_limit(field.schema, node_at(good, field.path)))
    result = patch_status(kubectl, field.kind, live[field.kind], bad["status"], tmp_path)
    assert result.returncode != 0, f"{field.kind} {field.name} over its cap was accepted"
    assert re.search(expected_error(field, good), result.stderr), result.stderr
