"""Bad input, property-based: every invalid spec is refused by the CRD schema at apply time
(422) or, if it passes the schema, gets a clear Ready=False condition and costs zero Azure
writes; hostile ARM ids never reach a URL.

One operator (in-process, real HTTP to both emulators) serves all examples of a test.
``BIO_BADINPUT_EXAMPLES`` raises the example count (default 30 per property).
"""

from __future__ import annotations

import copy
import itertools
import os
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubernetes.client.exceptions import ApiException

from helpers.system import SUB, CRs, azure_requests, condition, load_example, running_operator
from helpers.waits import eventually
from simlaunch import Emulator

EXAMPLES = int(os.environ.get("BIO_BADINPUT_EXAMPLES", "30"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
WRITES = {"PUT", "PATCH", "POST", "DELETE"}
CLEAR_REASONS = {"InvalidSpec", "NotAllowed", "LimitExceeded", "ImmutableFieldChanged"}
COMPUTE = f"/subscriptions/{SUB}/resourceGroups/rg-batch-images/providers/Microsoft.Compute"
Obj = dict[str, Any]
_names = itertools.count()


def base(kind: str) -> Obj:
    docs = {d["kind"]: d for d in load_example("snapshots")}
    return copy.deepcopy(docs[kind])


def put(obj: Obj, path: str, value: Any) -> Obj:
    """Set (or, with value=DELETE, remove) a dotted path; list indexes are numbers."""
    keys = path.split(".")
    node: Any = obj
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    last = keys[-1]
    if value is DELETE:
        node.pop(last, None)
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return obj


DELETE = object()


def not_matching(pattern: str, **kw: Any) -> st.SearchStrategy[str]:
    return st.text(**kw).filter(lambda s: re.fullmatch(pattern, s) is None)


ints = st.integers
# (kind, dotted path under the object, strategy of invalid values)
MUTATIONS: list[tuple[str, str, st.SearchStrategy[Any]]] = [
    ("BatchPool", "spec.account.name", not_matching(r"[a-z0-9]{3,24}", max_size=30)),
    ("BatchPool", "spec.account.subscriptionId", not_matching(
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        max_size=40)),
    ("BatchPool", "spec.account.resourceGroup", st.sampled_from(
        ["", "rg/..", "rg.", "rg?x=1", "rg#f", "a" * 91, "rg%2F..", "rg b"])),
    ("BatchPool", "spec.vmSize", st.sampled_from(["", "Standard D4", "a/b", "x" * 65, "../x"])),
    ("BatchPool", "spec.poolId", st.sampled_from(["", "a b", "../p", "p/q", "p" * 65, "p?x"])),
    ("BatchPool", "spec.scale.fixed.targetDedicatedNodes", ints(max_value=-1) | ints(2501)),
    ("BatchPool", "spec.scale.fixed.targetLowPriorityNodes", ints(max_value=-1) | ints(1001)),
    ("BatchPool", "spec.scale.fixed.resizeTimeout", st.sampled_from(
        ["20m", "PT20", "P1D", "PT-5M", "", "PT20M ", "1200"])),
    ("BatchPool", "spec.scale.autoScale", st.just({"formula": "$TargetDedicatedNodes = 1;"})),
    ("BatchPool", "spec.image.id", st.sampled_from([
        "", "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/images/a/b",
        f"{COMPUTE}/disks/d", f"https://management.azure.com{COMPUTE}/images/i",
        f"{COMPUTE}/images/i?api-version=1", f"{COMPUTE}/images/i#f"])),
    ("BatchPool", "spec.image.marketplace", st.just({"publisher": "p", "offer": "o",
                                                     "sku": "s"})),
    ("BatchPool", "spec.taskSlotsPerNode", ints(max_value=0) | ints(257)),
    ("BatchPool", "spec.startTask", st.sampled_from([
        {}, {"commandLine": ""},
        {"commandLine": "x", "resourceFiles": [{"httpUrl": "http://x/y", "filePath": "y"}]},
        {"commandLine": "x", "elevationLevel": "Root"}])),
    ("BatchPool", "spec.network.inboundNatPools", st.sampled_from([
        [{"name": "n", "protocol": "TCP", "backendPort": 0, "frontendPortRangeStart": 1,
          "frontendPortRangeEnd": 2}],
        [{"name": "n", "protocol": "ICMP", "backendPort": 22, "frontendPortRangeStart": 1,
          "frontendPortRangeEnd": 2}],
        [{"name": f"n{i}", "protocol": "TCP", "backendPort": 22,
          "frontendPortRangeStart": 1000 * i + 1, "frontendPortRangeEnd": 1000 * i + 100}
         for i in range(6)]])),
    ("BatchPool", "spec.network.subnetId", st.sampled_from([
        "subnet", f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/"
        "virtualNetworks/v/subnets/s?x=1"])),
    ("BatchPool", "spec.deletionPolicy", st.sampled_from(["delete", "Orphan", ""])),
    ("BatchPool", "spec.scale", st.just(DELETE)),
    ("BatchPool", "spec.vmSize", st.integers() | st.booleans() | st.just(DELETE)),
    ("ManagedImage", "spec.resourceGroup", st.sampled_from(["", "rg.", "rg/x", "a" * 91])),
    ("ManagedImage", "spec.location", not_matching(r"[a-z0-9]+", max_size=20)),
    ("ManagedImage", "spec.subscriptionId", st.sampled_from(["", "not-a-guid", SUB + "/.."])),
    ("ManagedImage", "spec.imageName", st.sampled_from(["", "-x", "a/b", "..", "i" * 81])),
    ("ManagedImage", "spec.hyperVGeneration", st.sampled_from(["V3", "v2", ""])),
    ("ManagedImage", "spec.source.snapshots.osDisk.osType", st.sampled_from(["linux", "BSD"])),
    ("ManagedImage", "spec.source.snapshots.osDisk.snapshotId", st.sampled_from([
        "", "snap", f"{COMPUTE}/disks/d", f"{COMPUTE}/snapshots/a/b", f"{COMPUTE}/snapshots/s?x",
        f"{COMPUTE}/snapshots/..", f"{COMPUTE}/snapshots/%2e%2e",
        f"{COMPUTE}/snapshots/a%2F..%2Fb",
        "/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.Compute/snapshots/s"])),
    ("ManagedImage", "spec.source.snapshots.dataDisks", st.sampled_from([
        [{"lun": 64, "snapshotId": f"{COMPUTE}/snapshots/s"}],
        [{"lun": -1, "snapshotId": f"{COMPUTE}/snapshots/s"}],
        [{"lun": 0, "snapshotId": f"{COMPUTE}/snapshots/s"},
         {"lun": 0, "snapshotId": f"{COMPUTE}/snapshots/t"}]])),
    ("ManagedImage", "spec.source.vhd", st.just({"blobUri": "https://a/b.vhd",
                                                 "osType": "Linux"})),
    ("ManagedImage", "spec.source", st.just({})),
    ("ManagedImage", "spec.gallery", st.sampled_from([
        {"galleryName": "g", "imageDefinition": "d", "version": "1.0"},
        {"galleryName": "-g", "imageDefinition": "d", "version": "1.0.0"},
        {"galleryName": "g", "imageDefinition": "d", "version": "1.0.0",
         "targetRegions": [{"name": "West Europe"}]}])),
    ("ManagedImage", "spec.deletionPolicy", st.sampled_from(["retain", "Keep"])),
]


# Invalid values the CRD schema lets through (its id patterns are loose on purpose): the
# operator must refuse them itself, before any Azure call.
RG = f"/subscriptions/{SUB}/resourceGroups"
SEMANTIC: list[tuple[str, str, st.SearchStrategy[Any]]] = [
    ("ManagedImage", "spec.source.snapshots.osDisk.snapshotId", st.sampled_from([
        f"{COMPUTE}/snapshots/..", f"{COMPUTE}/snapshots/%2e%2e", f"{COMPUTE}/snapshots/a b",
        f"{COMPUTE}/snapshots/a\\b", f"{COMPUTE}/snapshots/-s",
        f"{RG}/../providers/Microsoft.Compute/snapshots/s",
        "/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.Compute/snapshots/s"])),
    ("ManagedImage", "spec.source.snapshots.dataDisks.0.snapshotId", st.sampled_from([
        f"{COMPUTE}/snapshots/..", f"{COMPUTE}/snapshots/x%2F..%2Fy"])),
    ("ManagedImage", "spec.source.snapshots.dataDisks", st.just([
        {"lun": 0, "snapshotId": f"{COMPUTE}/snapshots/a"},
        {"lun": 0, "snapshotId": f"{COMPUTE}/snapshots/b"}])),
    ("ManagedImage", "spec.source", st.sampled_from([
        {"virtualMachine": {"id": f"{RG}/rg/providers/Microsoft.Compute/virtualMachines/.."}},
        {"vhd": {"blobUri": "https://a/../b.vhd", "osType": "Linux",
                 "storageAccountId": f"{RG}/rg/providers/Microsoft.Storage/storageAccounts/a"}}])),
    ("BatchPool", "spec.image", st.sampled_from([
        {"id": f"{COMPUTE}/images/.."}, {"id": f"{COMPUTE}/images/%2e%2e"},
        {"id": f"{COMPUTE}/galleries/g/images/d/versions/.."},
        {"id": "/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.Compute/"
               "images/i"}])),
    ("BatchPool", "spec.scale.fixed.resizeTimeout", st.just("PT")),
    ("BatchPool", "spec.network.subnetId", st.sampled_from([
        f"{RG}/rg/providers/Microsoft.Network/virtualNetworks/../subnets/s",
        f"{RG}/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/%2e"])),
]


@st.composite
def bad_objects(draw: st.DrawFn) -> Obj:
    """A valid example with one invalid value the schema refuses, sometimes two, or one
    value only the operator can refuse."""
    semantic = draw(st.booleans())
    kind, path, values = draw(st.sampled_from(SEMANTIC if semantic else MUTATIONS))
    obj = base(kind)
    obj["metadata"] = {"name": f"bad-{next(_names)}"}
    put(obj, path, draw(values))
    if not semantic and draw(st.booleans()):
        # Never a path inside (or around) the first one: deleting `scale` and then setting
        # `scale.autoScale` would make a valid spec again.
        others = [m for m in MUTATIONS if m[0] == kind and not m[1].startswith(path)
                  and not path.startswith(m[1])]
        _, path2, values2 = draw(st.sampled_from(others))
        put(obj, path2, draw(values2))
    return obj


def plural(obj: Obj) -> str:
    return str(obj["kind"]).lower() + "s"


def clear_condition(obj: Obj) -> bool:
    ready = condition(obj, "Ready")
    return bool(ready and ready["status"] == "False" and ready.get("reason") in CLEAR_REASONS
                and ready.get("message"))


def apply_or_refused(crs: CRs, obj: Obj) -> bool:
    """True when the object was accepted; a refusal must be a 422 Invalid."""
    try:
        crs.create(obj)
    except ApiException as exc:
        assert exc.status == 422, (exc.status, exc.body, obj["spec"])
        return False
    return True


def writes(azure: Emulator) -> list[Obj]:
    return [e for e in azure_requests(azure.admin_url, azure.ca_bundle)
            if e["method"] in WRITES]


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
def test_invalid_specs_are_refused_or_flagged_without_azure_writes(
        kubesim: Emulator, azuresim: Emulator, crs: CRs) -> None:
    azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
    seen = {"refused": 0, "flagged": 0}

    @SETTINGS
    @given(obj=bad_objects())
    def check(obj: Obj) -> None:
        if not apply_or_refused(crs, obj):
            seen["refused"] += 1
            return
        seen["flagged"] += 1
        got = crs.wait(plural(obj), obj["metadata"]["name"], clear_condition, timeout=30)
        # The Warning event is posted right after the status (no watch on events here).
        eventually(lambda: crs.events(obj["metadata"]["name"]),
                   lambda evs: any(e["type"] == "Warning" for e in evs), timeout=10)
        assert clear_condition(got)
        assert writes(azuresim) == [], obj["spec"]

    with running_operator(kubesim.url, azuresim.env):
        check()
    assert writes(azuresim) == []
    # The generator reaches both the schema's refusals and the operator's.
    assert seen["refused"] > 0 and seen["flagged"] > 0, seen


# --- hostile ARM ids ---------------------------------------------------------------------

FOREIGN = "0badc0de-0000-4000-8000-000000000000"
PAYLOADS: list[Callable[[str], str]] = [
    lambda m: f"{COMPUTE}/snapshots/..%2F..%2F{m}",
    lambda m: f"{COMPUTE}/snapshots/{m}%2F..",
    lambda m: f"{COMPUTE}/snapshots/%2e%2e{m}",
    lambda m: f"{COMPUTE}/snapshots/{m}%3Fapi-version=2020-01-01",
    lambda m: f"{COMPUTE}/snapshots/{m}%23frag",
    lambda m: f"{COMPUTE}/snapshots/{m}\\..\\x",
    lambda m: f"{COMPUTE}/snapshots/{m}\u2025",
    lambda m: f"/subscriptions/{SUB}/resourceGroups/..%2F{m}/providers/Microsoft.Compute/"
              f"snapshots/s",
    lambda m: f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute%2F..%2F{m}/"
              f"snapshots/s",
    lambda m: f"/subscriptions/..%2F{m}/resourceGroups/rg/providers/Microsoft.Compute/"
              f"snapshots/s",
]


@st.composite
def hostile(draw: st.DrawFn) -> tuple[Obj, str]:
    marker = f"hx{next(_names)}q"
    raw = draw(st.sampled_from(PAYLOADS))(marker)
    where = draw(st.sampled_from(["osDisk", "dataDisk", "poolImage"]))
    if where == "poolImage":
        obj = base("BatchPool")
        obj["spec"]["image"] = {"id": raw.replace("/snapshots/", "/images/")}
    else:
        obj = base("ManagedImage")
        snaps = obj["spec"]["source"]["snapshots"]
        target = snaps["osDisk"] if where == "osDisk" else snaps["dataDisks"][0]
        target["snapshotId"] = raw
    obj["metadata"] = {"name": f"hostile-{marker}"}
    return obj, marker


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
def test_hostile_arm_ids_never_reach_a_url(kubesim: Emulator, azuresim: Emulator,
                                           crs: CRs) -> None:
    @SETTINGS
    @given(case=hostile())
    def check(case: tuple[Obj, str]) -> None:
        obj, marker = case
        azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
        if apply_or_refused(crs, obj):
            crs.wait(plural(obj), obj["metadata"]["name"], clear_condition, timeout=30)
        log = azure_requests(azuresim.admin_url, azuresim.ca_bundle)
        leaked = [e for e in log if marker in e["path"].lower() or ".." in e["path"]]
        assert leaked == [], (obj["spec"], leaked)

    with running_operator(kubesim.url, azuresim.env):
        check()
