"""The Argo CD install artefacts: the argocd-cm patch embeds exactly the .lua files, and
the example Application points at the chart and the examples that exist here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python
import yaml

ROOT = Path(__file__).resolve().parents[2]
ARGOCD = ROOT / "argocd"


def lua_files() -> dict[str, str]:
    return {f"resource.customizations.health.{p.parent.name}": p.read_text()
            for p in sorted((ARGOCD / "health").glob("*/health.lua"))}


def test_health_checks_use_argo_cds_group_kind_layout() -> None:
    assert set(lua_files()) == {
        "resource.customizations.health.batchimage.dev_ManagedImage",
        "resource.customizations.health.batchimage.dev_BatchPool",
    }


def test_cm_patch_embeds_exactly_the_lua_files() -> None:
    patch = yaml.safe_load((ARGOCD / "argocd-cm-patch.yaml").read_text())
    assert patch["kind"] == "ConfigMap"
    assert patch["metadata"]["name"] == "argocd-cm"
    health_keys = {k: v for k, v in patch["data"].items()
                   if k.startswith("resource.customizations.health.")}
    assert health_keys == lua_files()


def _sources(app: dict[str, Any]) -> list[dict[str, Any]]:
    spec = app["spec"]
    return list(spec.get("sources", [])) + ([spec["source"]] if "source" in spec else [])


def test_example_application_installs_the_chart_then_the_examples() -> None:
    docs = [d for d in yaml.safe_load_all((ARGOCD / "application-example.yaml").read_text()) if d]
    apps = [d for d in docs if d["kind"] == "Application"]
    assert apps and all(d["apiVersion"] == "argoproj.io/v1alpha1" for d in apps)
    chart_app = next(a for a in apps
                     if any(s.get("path") == "charts/batch-image-operator" for s in _sources(a)))
    source = next(s for s in _sources(chart_app) if s.get("path") == "charts/batch-image-operator")
    assert (ROOT / source["path"] / "Chart.yaml").is_file()
    values = source["helm"]["valuesObject"]
    assert values["azure"]["workloadIdentity"]["enabled"] is True
    with helm_python.Chart.load(ROOT / source["path"]) as chart:
        chart.validate_schema(values)  # the example's values pass the chart's schema

    example_apps = [a for a in apps
                    if any(s.get("path", "").startswith("examples/") for s in _sources(a))]
    assert example_apps
    for app in example_apps:
        for s in _sources(app):
            assert (ROOT / s["path"]).is_dir(), s["path"]
        # CRDs may not exist at the first dry run; the examples sync after the operator
        assert "SkipDryRunOnMissingResource=true" in app["spec"]["syncPolicy"]["syncOptions"]
        wave = int(app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
        assert wave > int(chart_app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
