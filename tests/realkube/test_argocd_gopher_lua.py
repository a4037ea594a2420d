"""Argo CD's health checks in Argo CD's own Lua engine: argocd/health/*/health.lua run by
gopher-lua with the VM set up as Argo CD's util/lua sets it up (realkube-go/cmd/argocd-health,
built by `make realkube`), on the fixtures tests/argocd checks with lupa. The two agree."""

from __future__ import annotations

import datetime
import json
import subprocess
from typing import Any

import pytest
import yaml

from helpers.realkube import REPO
from realkube.launch import default_bin_dir

pytestmark = pytest.mark.realkube

FIXTURES = REPO / "tests" / "argocd" / "fixtures"
CASES: list[dict[str, Any]] = yaml.safe_load(
    (FIXTURES / "health_test.yaml").read_text())["tests"]


def as_json(value: object) -> str:
    """What Argo CD's `obj` holds: timestamps as the API server's strings."""
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(value)


def gopher_lua(requests: list[dict[str, Any]]) -> list[dict[str, str]]:
    proc = subprocess.run([str(default_bin_dir() / "argocd-health")],
                          input=json.dumps(requests, default=as_json),
                          capture_output=True, text=True, timeout=60, check=True)
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def script(kind: str) -> str:
    return (REPO / "argocd" / "health" / f"batchimage.dev_{kind}" / "health.lua").read_text()


def test_gopher_lua_agrees_with_every_fixture() -> None:
    objects = [yaml.safe_load((FIXTURES / case["inputPath"]).read_text()) for case in CASES]
    results = gopher_lua([{"script": script(obj["kind"]), "obj": obj} for obj in objects])
    mismatches = [(case["inputPath"], got, case["healthStatus"])
                  for case, got in zip(CASES, results, strict=True)
                  if got != case["healthStatus"]]
    assert not mismatches, mismatches


def test_the_vm_is_argo_cds_string_library_absent_status_checked() -> None:
    """The setup itself: without useOpenLibs the string library is missing (a script that
    uses it fails, as in Argo CD), and an invalid status becomes Unknown."""
    obj: dict[str, Any] = {"kind": "BatchPool", "metadata": {"name": "p"}}
    without, with_libs, invalid = gopher_lua([
        {"script": 'return {status = string.format("%s", "Healthy")}', "obj": obj},
        {"script": 'return {status = string.format("%s", "Healthy")}', "obj": obj,
         "useOpenLibs": True},
        {"script": 'return {status = "Fine"}', "obj": obj},
    ])
    assert "string" in without.get("error", ""), without
    assert with_libs == {"status": "Healthy"}
    assert invalid == {"status": "Unknown", "message": "Lua returned an invalid health status"}
