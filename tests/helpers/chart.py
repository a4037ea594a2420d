"""Render the Helm chart through Helm's own Go SDK (helm-python-sdk) and pick objects."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

from helpers.ids import SUB

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "batch-image-operator"
RELEASE = "bio"
NAMESPACE = "bio-system"
FULLNAME = f"{RELEASE}-batch-image-operator"
SUBSCRIPTION = SUB
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "0b7c5a3e-1d2f-4e6a-9b8c-7d6e5f4a3b2c"

# What the quickstart sets: the subscription, and an allow-list of it (required).
BASE: dict[str, Any] = {"azure": {"subscriptionId": SUBSCRIPTION},
                        "allowList": {"*": [f"/subscriptions/{SUBSCRIPTION}"]}}


def merged(*overrides: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge value overrides onto BASE (later wins)."""

    def merge(into: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        out = dict(into)
        for key, value in new.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = merge(out[key], value)
            else:
                out[key] = value
        return out

    result: dict[str, Any] = dict(BASE)
    for override in overrides:
        result = merge(result, override)
    return result


def render_files(values: dict[str, Any] | None = None) -> dict[str, str]:
    with helm.Chart.load(CHART) as chart:
        return chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)


def render(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every object the templates produce (NOTES.txt and empty documents dropped)."""
    docs: list[dict[str, Any]] = []
    for name, text in sorted(render_files(values).items()):
        if name.endswith("NOTES.txt"):
            continue
        docs.extend(d for d in yaml.safe_load_all(text) if d)
    return docs


def chart_crds() -> list[dict[str, Any]]:
    with helm.Chart.load(CHART) as chart:
        return [yaml.safe_load(c["data"]) for c in chart.crds]


def of_kind(docs: Iterable[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: Iterable[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = of_kind(docs, kind)
    assert len(found) == 1, f"expected one {kind}, got {[d['metadata']['name'] for d in found]}"
    return found[0]


def container(docs: Iterable[dict[str, Any]]) -> dict[str, Any]:
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert len(pod["containers"]) == 1
    return dict(pod["containers"][0])


def env(docs: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Container env as name -> value (or the valueFrom mapping)."""
    out: dict[str, Any] = {}
    for item in container(docs).get("env", []):
        assert item["name"] not in out, f"duplicate env {item['name']}"
        out[item["name"]] = item["value"] if "value" in item else item["valueFrom"]
    return out


Rule = tuple[dict[str, Any], dict[str, Any]]


def rules(docs: Iterable[dict[str, Any]], kind: str) -> Iterator[Rule]:
    """(role, rule) for every rule of every Role/ClusterRole of ``kind``."""
    for role in of_kind(docs, kind):
        for rule in role.get("rules", []):
            yield role, rule


def grants(rule: dict[str, Any], group: str, resource: str, verb: str) -> bool:
    return (group in rule.get("apiGroups", []) and resource in rule.get("resources", [])
            and verb in rule.get("verbs", []))
