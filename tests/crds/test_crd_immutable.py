"""Fields Azure cannot change in place are refused by `kubectl apply` itself (CEL
transition rules), with a message saying what to do; mutable fields still apply."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest

from helpers.crds import RG, Kubectl, Obj, manifest, refusals, specs

Change = Callable[[Obj], Any]


def setter(path: str, value: Any) -> Change:
    def change(spec: Obj) -> None:
        *parents, last = path.split(".")
        node = spec
        for key in parents:
            node = node[key]
        node[last] = value
    return change


def dropper(key: str) -> Change:
    return lambda spec: spec.pop(key)


# (kind, case, how the "before" spec differs from the valid base, the change, field, message)
IMMUTABLE: list[tuple[str, str, Change | None, Change, str]] = [
    ("BatchPool", "account", None, setter("account.name", "otheraccount"), "account"),
    ("BatchPool", "account-subscription-dropped", None,
     lambda s: s["account"].pop("subscriptionId"), "account"),
    ("BatchPool", "pool-id", None, setter("poolId", "other-pool"), "poolId"),
    ("BatchPool", "pool-id-removed", None, dropper("poolId"), "poolId"),
    ("BatchPool", "pool-id-added", dropper("poolId"), setter("poolId", "render-pool"), "poolId"),
    ("BatchPool", "vm-size", None, setter("vmSize", "Standard_F8s_v2"), "vmSize"),
    ("BatchPool", "node-agent", None, setter("nodeAgentSkuId", "batch.node.el 9"),
     "nodeAgentSkuId"),
    ("BatchPool", "image-ref", None, setter("image", {"managedImageRef": {"name": "other"}}),
     "image"),
    ("BatchPool", "image-kind", None,
     setter("image", {"id": f"{RG}/Microsoft.Compute/images/ubuntu-hpc"}), "image"),
    ("BatchPool", "task-slots", None, setter("taskSlotsPerNode", 4), "taskSlotsPerNode"),
    ("BatchPool", "task-slots-defaulted", None, dropper("taskSlotsPerNode"),
     "taskSlotsPerNode"),
    ("ManagedImage", "subscription", None,
     setter("subscriptionId", "0badc0de-0000-4000-8000-000000000000"), "subscriptionId"),
    ("ManagedImage", "subscription-removed", None, dropper("subscriptionId"),
     "subscriptionId"),
    ("ManagedImage", "subscription-added", dropper("subscriptionId"),
     setter("subscriptionId", "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"), "subscriptionId"),
    ("ManagedImage", "resource-group", None, setter("resourceGroup", "rg-other"),
     "resourceGroup"),
    ("ManagedImage", "location", None, setter("location", "northeurope"), "location"),
    ("ManagedImage", "image-name", None, setter("imageName", "ubuntu-hpc-2"), "imageName"),
    ("ManagedImage", "image-name-removed", None, dropper("imageName"), "imageName"),
    ("ManagedImage", "image-name-added", dropper("imageName"), setter("imageName", "x"),
     "imageName"),
    ("ManagedImage", "source-snapshot", None,
     setter("source.snapshots.osDisk.snapshotId",
            f"{RG}/Microsoft.Compute/snapshots/other-os"), "source"),
    ("ManagedImage", "source-kind", None,
     setter("source", {"virtualMachine": {"id": f"{RG}/Microsoft.Compute/virtualMachines/v"}}),
     "source"),
    ("ManagedImage", "hyperv", None, setter("hyperVGeneration", "V1"), "hyperVGeneration"),
    ("ManagedImage", "hyperv-defaulted", None, dropper("hyperVGeneration"), "hyperVGeneration"),
]
MUTABLE: list[tuple[str, str, Change]] = [
    ("BatchPool", "target-nodes", setter("scale.fixed.targetDedicatedNodes", 3)),
    ("BatchPool", "display-name", setter("displayName", "Render farm 2")),
    ("BatchPool", "start-task", setter("startTask.commandLine", "/bin/true")),
    ("ManagedImage", "tags", setter("tags", {"team": "render"})),
    ("ManagedImage", "gallery-version", setter("gallery.version", "1.0.1")),
]


def objects(kind: str, name: str, before: Change | None, change: Change) -> tuple[Obj, Obj]:
    spec = copy.deepcopy(specs(kind)[0])
    if before:
        before(spec)
    changed = copy.deepcopy(spec)
    change(changed)
    return manifest(kind, name, spec), manifest(kind, name, changed)


def test_changing_vm_size_is_refused_by_kubectl_apply(kubectl: Kubectl) -> None:
    pool, changed = objects("BatchPool", "vm-size-pool", None, setter("vmSize", "Standard_F8s_v2"))
    kubectl.apply([pool])
    result = kubectl.apply([changed], check=False)
    assert result.returncode != 0
    assert 'spec.vmSize: Invalid value: "Standard_F8s_v2": vmSize is immutable; create a new ' \
           'BatchPool ' \
           "with the new VM size instead" in result.stderr
    assert kubectl.get("BatchPool", "vm-size-pool")["spec"]["vmSize"] == "Standard_D4s_v3"
    # A mutable change to the same object still applies.
    resized = copy.deepcopy(pool)
    resized["spec"]["scale"]["fixed"]["targetDedicatedNodes"] = 5
    assert "batchpool.batchimage.dev/vm-size-pool configured" in kubectl.apply([resized]).stdout
    stored = kubectl.get("BatchPool", "vm-size-pool")
    assert stored["spec"]["scale"]["fixed"]["targetDedicatedNodes"] == 5
    assert stored["metadata"]["generation"] == 2


@pytest.fixture(scope="module")
def applied(kubectl: Kubectl) -> tuple[dict[str, str], str]:
    """Create every case's object, then apply every change in one kubectl run."""
    cases = [(k, f"imm-{c}", b, ch) for k, c, b, ch, _ in IMMUTABLE]
    cases += [(k, f"mut-{c}", None, ch) for k, c, ch in MUTABLE]
    pairs = [objects(kind, name, before, change) for kind, name, before, change in cases]
    kubectl.apply([before for before, _ in pairs])
    result = kubectl.apply([after for _, after in pairs], check=False)
    return refusals(result.stderr), result.stdout


@pytest.mark.parametrize(("kind", "case", "field"), [(k, c, f) for k, c, _, _, f in IMMUTABLE],
                         ids=[c for _, c, _, _, _ in IMMUTABLE])
def test_immutable_change_is_refused(kind: str, case: str, field: str,
                                     applied: tuple[dict[str, str], str],
                                     kubectl: Kubectl) -> None:
    refused, _ = applied
    line = refused.get(f"imm-{case}")
    assert line is not None, f"{kind} {case}: the change was accepted"
    # A rule on a scalar field prints the refused value; one on an object omits it.
    value = r'(?:"[^"]*": |-?[0-9.]+: )?'
    message = rf"spec\.{field}: Invalid value: {value}{field} is immutable; create a new {kind}"
    assert re.search(message, line), line
    before, _ = objects(kind, "x", *next((b, ch) for _, c, b, ch, _ in IMMUTABLE if c == case))
    assert kubectl.get(kind, f"imm-{case}")["spec"].items() >= before["spec"].items()


@pytest.mark.parametrize(("kind", "case"), [(k, c) for k, c, _ in MUTABLE],
                         ids=[c for _, c, _ in MUTABLE])
def test_mutable_change_applies(kind: str, case: str,
                                applied: tuple[dict[str, str], str], kubectl: Kubectl) -> None:
    refused, out = applied
    assert f"mut-{case}" not in refused
    assert f"{kind.lower()}.batchimage.dev/mut-{case} configured" in out
    _, after = objects(kind, "x", None, next(ch for _, c, ch in MUTABLE if c == case))
    assert kubectl.get(kind, f"mut-{case}")["spec"].items() >= after["spec"].items()
