"""Reading the project's CRDs as data, and driving the real kubectl against kubesim.

A uniquely named module (test folders have no ``__init__.py``)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from helpers.ids import SUB

ROOT = Path(__file__).resolve().parents[2]
CRDS = ROOT / "crds"
KUBECTL = str(Path(sys.executable).parent / "kubectl")
GROUP_VERSION = "batchimage.dev/v1alpha1"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-batch-images/providers"
FILES = {"BatchPool": "batchpools.batchimage.dev.yaml",
         "ManagedImage": "managedimages.batchimage.dev.yaml"}
# Set by Kubernetes, not by this API: apiVersion and kind must name this kind, and
# metadata is ObjectMeta (the API server refuses anything but `type` on it).
SERVER_OWNED = {("apiVersion",), ("kind",), ("metadata",)}
Obj = dict[str, Any]
Path_ = tuple[str, ...]


def schema(kind: str) -> Obj:
    crd = yaml.safe_load((CRDS / FILES[kind]).read_text())
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Field:
    kind: str
    path: Path_          # "[]" stands for a list item, "{}" for a map value
    schema: Obj

    @property
    def name(self) -> str:
        return display(self.path)


def display(path: Path_, index: str = "[]") -> str:
    out = ""
    for token in path:
        if token == "[]":
            out += index
        elif token == "{}":
            out += "{}"
        else:
            out += f".{token}" if out else token
    return out


def fields(kind: str) -> Iterator[Field]:
    """Every node under the root: properties, list items and map values."""
    def walk(node: Obj, path: Path_) -> Iterator[Field]:
        for name, child in (node.get("properties") or {}).items():
            yield Field(kind, (*path, name), child)
            yield from walk(child, (*path, name))
        if isinstance(node.get("items"), dict):
            yield Field(kind, (*path, "[]"), node["items"])
            yield from walk(node["items"], (*path, "[]"))
        if isinstance(node.get("additionalProperties"), dict):
            yield Field(kind, (*path, "{}"), node["additionalProperties"])
            yield from walk(node["additionalProperties"], (*path, "{}"))
    yield from walk(schema(kind), ())


def is_map(node: Obj) -> bool:
    return node.get("type") == "object" and isinstance(node.get("additionalProperties"), dict)


def cap_of(node: Obj) -> tuple[str, int] | None:
    """The bound a string, list or map must carry, as (keyword, limit)."""
    if node.get("type") == "string":
        return "maxLength", node.get("maxLength", -1)
    if node.get("type") == "array":
        return "maxItems", node.get("maxItems", -1)
    if is_map(node):
        return "maxProperties", node.get("maxProperties", -1)
    return None


# --- valid objects covering every field --------------------------------------------------

def _pool_spec() -> Obj:
    return {
        "account": {"subscriptionId": SUB, "resourceGroup": "rg-batch", "name": "batchdemo"},
        "poolId": "render-pool",
        "displayName": "Render farm",
        "vmSize": "Standard_D4s_v3",
        "nodeAgentSkuId": "batch.node.ubuntu 22.04",
        "image": {"managedImageRef": {"name": "ubuntu-hpc"}},
        "scale": {"fixed": {"targetDedicatedNodes": 2, "targetLowPriorityNodes": 0,
                            "resizeTimeout": "PT20M", "nodeDeallocationOption": "Requeue"}},
        "taskSlotsPerNode": 2,
        "startTask": {
            "commandLine": "/bin/sh -c 'echo ready'", "waitForSuccess": True,
            "maxTaskRetryCount": 1, "elevationLevel": "Admin",
            "environmentSettings": [{"name": "MODE", "value": "render"}],
            "resourceFiles": [{"httpUrl": "https://example.blob.core.windows.net/s/setup.sh",
                               "filePath": "setup.sh"}]},
        "network": {
            "subnetId": f"/subscriptions/{SUB}/resourceGroups/rg-net/providers/"
                        "Microsoft.Network/virtualNetworks/vnet/subnets/batch",
            "inboundNatPools": [{"name": "ssh", "protocol": "TCP", "backendPort": 22,
                                 "frontendPortRangeStart": 50000,
                                 "frontendPortRangeEnd": 50099}]},
        "interNodeCommunication": "Disabled",
        "metadata": [{"name": "team", "value": "render"}],
        "deletionPolicy": "Delete",
    }


def _image_spec() -> Obj:
    snaps = f"{RG}/Microsoft.Compute/snapshots"
    return {
        "subscriptionId": SUB,
        "resourceGroup": "rg-batch-images",
        "location": "westeurope",
        "imageName": "ubuntu-hpc",
        "hyperVGeneration": "V2",
        "tags": {"team": "hpc"},
        "source": {"snapshots": {
            "osDisk": {"snapshotId": f"{snaps}/ubuntu-hpc-os", "osType": "Linux",
                       "osState": "Generalized"},
            "dataDisks": [{"lun": 0, "snapshotId": f"{snaps}/ubuntu-hpc-data0"}]}},
        "gallery": {"resourceGroup": "rg-galleries", "galleryName": "batchgallery",
                    "imageDefinition": "ubuntu-hpc", "version": "1.0.0",
                    "identifier": {"publisher": "contoso", "offer": "hpc", "sku": "ubuntu-22"},
                    "targetRegions": [{"name": "westeurope", "replicaCount": 1}]},
        "deletionPolicy": "Delete",
    }


def specs(kind: str) -> list[Obj]:
    """Valid specs which, together, set every spec field (one per oneOf alternative)."""
    if kind == "BatchPool":
        pool = _pool_spec()
        by_id = copy.deepcopy(pool)
        by_id["image"] = {"id": f"{RG}/Microsoft.Compute/galleries/g/images/d/versions/1.0.0"}
        market = copy.deepcopy(pool)
        market["image"] = {"marketplace": {"publisher": "canonical",
                                           "offer": "0001-com-ubuntu-server-jammy",
                                           "sku": "22_04-lts", "version": "latest"}}
        auto = copy.deepcopy(pool)
        auto["scale"] = {"autoScale": {"formula": "$TargetDedicatedNodes = 2;",
                                       "evaluationInterval": "PT15M",
                                       "maxDedicatedNodes": 8, "maxLowPriorityNodes": 0}}
        return [pool, by_id, market, auto]
    image = _image_spec()
    vm = copy.deepcopy(image)
    vm["source"] = {"virtualMachine": {
        "id": f"{RG}/Microsoft.Compute/virtualMachines/prep-vm", "capture": "Snapshot"}}
    vhd = copy.deepcopy(image)
    blobs = "https://packerbuilds.blob.core.windows.net/images"
    vhd["source"] = {"vhd": {
        "storageAccountId": f"{RG}/Microsoft.Storage/storageAccounts/packerbuilds",
        "blobUri": f"{blobs}/ubuntu-hpc.vhd", "osType": "Linux", "osState": "Generalized",
        "dataDisks": [{"lun": 0, "blobUri": f"{blobs}/data0.vhd"}]}}
    return [image, vm, vhd]


def status(kind: str) -> Obj:
    """A status setting every status field, as the operator writes it."""
    condition = {"type": "Ready", "status": "True", "reason": "Steady", "message": "ok",
                 "lastTransitionTime": "2026-01-01T12:00:00Z", "observedGeneration": 1}
    if kind == "BatchPool":
        return {"observedGeneration": 1, "poolId": "render-pool",
                "resourceId": f"{RG}/Microsoft.Batch/batchAccounts/batchdemo/pools/render-pool",
                "imageId": f"{RG}/Microsoft.Compute/images/ubuntu-hpc",
                "provisioningState": "Succeeded", "allocationState": "Steady",
                "currentDedicatedNodes": 2, "currentLowPriorityNodes": 0,
                "nodeCounts": {"idle": 2}, "resizeAttempts": 1,
                "resizeAgainSeen": "3f1c0a9b2d4e5f60",
                "resizeErrors": [{"code": "AllocationFailed", "message": "no capacity"}],
                "conditions": [condition]}
    return {"observedGeneration": 1, "imageId": f"{RG}/Microsoft.Compute/images/ubuntu-hpc",
            "galleryImageVersionId": f"{RG}/Microsoft.Compute/galleries/g/images/d/versions/1.0.0",
            "sourceKind": "Snapshots", "provisioningState": "Succeeded",
            "snapshotIds": [f"{RG}/Microsoft.Compute/snapshots/ubuntu-hpc-os"],
            "usedBy": ["render-pool"], "conditions": [condition]}


def manifest(kind: str, name: str, spec: Obj) -> Obj:
    return {"apiVersion": GROUP_VERSION, "kind": kind, "metadata": {"name": name},
            "spec": spec}


def node_at(obj: Any, path: Path_) -> Any:
    """The value at ``path`` (first list item, first map value); KeyError if absent."""
    for token in path:
        if token == "[]":
            obj = obj[0]
        elif token == "{}":
            obj = next(iter(obj.values()))
        else:
            obj = obj[token]
    return obj


def set_at(obj: Any, path: Path_, value: Any) -> None:
    parent = node_at(obj, path[:-1])
    last = path[-1]
    if last == "[]":
        parent[0] = value
    elif last == "{}":
        parent[next(iter(parent))] = value
    else:
        parent[last] = value


# --- kubectl ------------------------------------------------------------------------------

@dataclass
class Kubectl:
    kubeconfig: Path
    cache_dir: Path

    def __call__(self, *args: str, input: str | None = None,
                 check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [KUBECTL, "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.cache_dir),
             *args], input=input, capture_output=True, text=True, timeout=120, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed:\n{proc.stderr}")
        return proc

    def apply(self, objs: list[Obj], *extra: str,
              check: bool = True) -> subprocess.CompletedProcess[str]:
        stream = "\n---\n".join(json.dumps(obj) for obj in objs)
        return self("apply", "-f", "-", *extra, input=stream, check=check)

    def get(self, kind: str, name: str) -> Obj:
        out = self("get", kind.lower(), name, "-o", "json").stdout
        return json.loads(out)  # type: ignore[no-any-return]


def refusals(stderr: str) -> dict[str, str]:
    """kubectl's error line for each refused object, by object name."""
    found: dict[str, str] = {}
    for line in stderr.splitlines():
        if " is invalid: " not in line:
            continue
        name = line.split(" is invalid: ", 1)[0].rsplit('"', 2)[-2]
        found[name] = line
    return found
