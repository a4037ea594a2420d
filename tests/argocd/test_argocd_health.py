"""The Argo CD health checks, run in a real Lua runtime (lupa) against status fixtures.

Argo CD runs these scripts in gopher-lua (Lua 5.1) with the live object as the global
``obj``; each must return ``{status=..., message=...}``. The fixtures follow Argo CD's
own ``health_test.yaml`` layout, so what a user sees in the Argo CD UI is asserted
word for word.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HEALTH = ROOT / "argocd" / "health"
FIXTURES = Path(__file__).parent / "fixtures"
KINDS = ("ManagedImage", "BatchPool")
ARGO_STATUSES = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}
# Lua 5.1 is what Argo CD's gopher-lua speaks; 5.4 guards against integer/float surprises.
RUNTIMES = ("lupa.lua51", "lupa.lua54")

CASES: list[dict[str, Any]] = yaml.safe_load((FIXTURES / "health_test.yaml").read_text())["tests"]


def script(kind: str) -> str:
    return (HEALTH / f"batchimage.dev_{kind}" / "health.lua").read_text()


def health(obj: dict[str, Any], runtime: str = "lupa.lua51",
           without_string_library: bool = False) -> dict[str, Any]:
    lupa = importlib.import_module(runtime)
    lua = lupa.LuaRuntime(unpack_returned_tuples=False)
    if without_string_library:
        # As Argo CD runs them: no `string` table, and no string methods ("x"):find(...).
        lua.execute("string = nil; debug.setmetatable('', nil)")
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute(script(obj["kind"]))
    return {key: result[key] for key in result}


def load(path: str) -> dict[str, Any]:
    obj: dict[str, Any] = yaml.safe_load((FIXTURES / path).read_text())
    return obj


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("case", CASES, ids=[c["inputPath"] for c in CASES])
def test_health_of_fixture(case: dict[str, Any], runtime: str) -> None:
    assert health(load(case["inputPath"]), runtime) == case["healthStatus"]


@pytest.mark.parametrize("case", CASES, ids=[c["inputPath"] for c in CASES])
def test_health_needs_no_string_library(case: dict[str, Any]) -> None:
    assert health(load(case["inputPath"]), without_string_library=True) == case["healthStatus"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_transient_azure_error_is_progressing_not_degraded(kind: str) -> None:
    obj = load(f"{kind}/no-status.yaml")
    obj["status"] = {"observedGeneration": 1, "conditions": [
        {"type": "Ready", "status": "False", "reason": "AzureError",
         "message": "pools.get: ServiceUnavailable: busy (transient; retried automatically)"}]}
    assert health(obj)["status"] == "Progressing"


def test_every_fixture_is_listed_and_every_branch_covered() -> None:
    listed = {c["inputPath"] for c in CASES}
    on_disk = {str(p.relative_to(FIXTURES)) for p in FIXTURES.glob("*/*.yaml")}
    assert listed == on_disk
    for kind in KINDS:
        seen = {c["healthStatus"]["status"] for c in CASES if c["inputPath"].startswith(kind)}
        assert seen == {"Healthy", "Progressing", "Degraded", "Suspended"}, kind
    assert all(c["healthStatus"]["status"] in ARGO_STATUSES for c in CASES)


@pytest.mark.parametrize("kind", KINDS)
def test_fixtures_are_valid_objects_of_the_crd(kind: str) -> None:
    """The fixtures use the real field names: they validate against the CRD schema."""
    crd = yaml.safe_load((ROOT / "crds" / f"{kind.lower()}s.batchimage.dev.yaml").read_text())
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for path in sorted(FIXTURES.glob(f"{kind}/*.yaml")):
        jsonschema.validate(load(str(path.relative_to(FIXTURES))), schema)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("reason", ["InvalidSpec", "ImmutableFieldChanged",
                                    "ProvisioningFailed", "ImageMissing", "NotAllowed",
                                    "CredentialError", "AzureAuthError",
                                    "AzureRequestRejected"])
def test_terminal_reasons_are_degraded_and_others_progress(kind: str, reason: str) -> None:
    obj = load(f"{kind}/no-status.yaml")
    obj["status"] = {"observedGeneration": 1, "conditions": [
        {"type": "Ready", "status": "False", "reason": reason, "message": "x"}]}
    assert health(obj)["status"] == "Degraded"
    obj["status"]["conditions"][0]["reason"] = "Creating"
    assert health(obj)["status"] == "Progressing"


@pytest.mark.parametrize("kind", KINDS)
def test_a_fixed_spec_is_not_degraded_until_the_operator_looks_again(kind: str) -> None:
    """A user who fixed an invalid spec sees Progressing, not the stale Degraded."""
    obj = load(f"{kind}/invalid-spec.yaml")
    assert health(obj)["status"] == "Degraded"
    obj["metadata"]["generation"] = 2
    assert health(obj) == {"status": "Progressing",
                           "message": "Waiting for the operator to observe generation 2"}


@pytest.mark.parametrize("kind", KINDS)
def test_pause_wins_over_everything(kind: str) -> None:
    for case in CASES:
        if not case["inputPath"].startswith(kind):
            continue
        obj = load(case["inputPath"])
        obj["metadata"].setdefault("annotations", {})["batchimage.dev/paused"] = "true"
        assert health(obj)["status"] == "Suspended", case["inputPath"]


@pytest.mark.parametrize(("kind", "reason"), [
    ("ManagedImage", "PurchasePlan"), ("ManagedImage", "ExtensionsInstalled"),
    ("ManagedImage", "UnsupportedBaseImage"), ("ManagedImage", "PublishBlocked"),
    ("ManagedImage", "SnapshotFailed"),
    ("BatchPool", "ResizeAttemptsExhausted"), ("BatchPool", "UnusableNodes"),
    ("BatchPool", "ResizeStopped"),
])
def test_kind_specific_dead_ends_are_degraded(kind: str, reason: str) -> None:
    obj = load(f"{kind}/no-status.yaml")
    obj["status"] = {"observedGeneration": 1, "conditions": [
        {"type": "Ready", "status": "False", "reason": reason, "message": "x"}]}
    assert health(obj)["status"] == "Degraded"
