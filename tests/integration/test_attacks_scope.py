"""A tenant tries to reach outside its allow-list, or to trust the operator with ids it
forged. Each test is the attacker's steps end to end; the comments say what the build
before the policy gate did."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from azure.core.exceptions import ResourceNotFoundError
from kubernetes import client as k8s

from helpers.system import (
    SUB,
    WRITES,
    CRs,
    azure_requests,
    azure_sdk,
    condition,
    has_condition,
    kube_api,
    running_operator,
)
from helpers.system import example_by_kind as example
from simlaunch import Emulator

P = f"/subscriptions/{SUB}/resourceGroups"
def allow_only(tmp_path: Path, *groups: str) -> str:
    path = tmp_path / "allow.yaml"
    path.write_text('"*":\n' + "".join(f'  - "{P}/{g}"\n' for g in groups))
    return str(path)


def requests_to(azuresim: Emulator, fragment: str, methods: set[str] | None = None) -> list:
    return [e for e in azure_requests(azuresim.admin_url, azuresim.ca_bundle)
            if fragment.lower() in e["path"].lower()
            and (methods is None or e["method"] in methods)]


def test_deleting_a_pool_outside_the_allow_list_sends_nothing(
        tmp_path: Path, kubesim: Emulator, azuresim: Emulator, crs: CRs) -> None:
    _, batch = azure_sdk(azuresim.env)
    docs = example()
    # Someone's pool in an account the namespace may not touch.
    batch.pool.create("rg-batch", "batchdemo", "victim", {"properties": {
        "vmSize": "STANDARD_D2S_V3",
        "deploymentConfiguration": {"virtualMachineConfiguration": {
            "imageReference": {"publisher": "canonical", "offer": "ubuntu", "sku": "22_04-lts"},
            "nodeAgentSkuId": "batch.node.ubuntu 22.04"}},
        "scaleSettings": {"fixedScale": {"targetDedicatedNodes": 0}}}})
    azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
    with running_operator(kubesim.url, azuresim.env,
                          BIO_ALLOWLIST_FILE=allow_only(tmp_path, "rg-batch-images")):
        attack = docs["BatchPool"]
        attack["metadata"]["name"] = "victim"
        attack["spec"]["image"] = {"marketplace": {"publisher": "canonical", "offer": "ubuntu",
                                                   "sku": "22_04-lts"}}
        crs.create(attack)
        crs.wait("batchpools", "victim", has_condition("Ready", "False", "NotAllowed"))
        crs.delete("batchpools", "victim")
        crs.wait_deleted("batchpools", "victim")
    # Before the gate: the deletion path GET and DELETEd the pool.
    assert requests_to(azuresim, "/pools/victim") == []
    assert batch.pool.get("rg-batch", "batchdemo", "victim")


def test_deleting_an_image_never_touches_a_gallery_outside_the_allow_list(
        tmp_path: Path, kubesim: Emulator, azuresim: Emulator, crs: CRs) -> None:
    compute, _ = azure_sdk(azuresim.env)
    docs = example()
    # Another team's gallery, in a resource group this namespace may not use.
    compute.galleries.begin_create_or_update("rg-batch", "corp", {"location": "westeurope"}
                                             ).result()
    compute.gallery_images.begin_create_or_update("rg-batch", "corp", "base", {
        "location": "westeurope", "properties": {
            "osType": "Linux", "osState": "Generalized",
            "identifier": {"publisher": "corp", "offer": "base", "sku": "1"}}}).result()
    azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
    image = docs["ManagedImage"]
    image["spec"]["gallery"] = {"resourceGroup": "rg-batch", "galleryName": "corp",
                                "imageDefinition": "base", "version": "1.0.0"}
    with running_operator(kubesim.url, azuresim.env,
                          BIO_ALLOWLIST_FILE=allow_only(tmp_path, "rg-batch-images")):
        crs.create(image)
        crs.wait("managedimages", "ubuntu-hpc", has_condition("Ready", "False", "NotAllowed"))
        crs.delete("managedimages", "ubuntu-hpc")
        crs.wait_deleted("managedimages", "ubuntu-hpc")
    # Before the gate, deletion checked only the image id, then deleted the version.
    assert requests_to(azuresim, "/galleries/corp") == []


@pytest.mark.parametrize("field", ["subnet", "vhd"])
def test_ids_placed_in_bodies_are_gated_too(field: str, tmp_path: Path, kubesim: Emulator,
                                            azuresim: Emulator, crs: CRs) -> None:
    if field == "subnet":
        manifest = example()["BatchPool"]
        manifest["spec"]["image"] = {"marketplace": {"publisher": "canonical",
                                                     "offer": "ubuntu", "sku": "22_04-lts"}}
        manifest["spec"]["network"] = {"subnetId": f"{P}/rg-hub/providers/Microsoft.Network/"
                                                   "virtualNetworks/corp-hub/subnets/dmz"}
        plural, name = "batchpools", manifest["metadata"]["name"]
    else:
        manifest = example("vhd")["ManagedImage"]
        manifest["spec"]["source"]["vhd"]["storageAccountId"] = (
            f"{P}/rg-finance/providers/Microsoft.Storage/storageAccounts/packerbuilds")
        plural, name = "managedimages", manifest["metadata"]["name"]
    with running_operator(kubesim.url, azuresim.env, BIO_ALLOWLIST_FILE=allow_only(
            tmp_path, "rg-batch", "rg-batch-images")):
        crs.create(manifest)
        refused = crs.wait(plural, name, has_condition("Ready", "False", "NotAllowed"))
        assert ("rg-hub" if field == "subnet" else "rg-finance") in \
            condition(refused, "Ready")["message"]
    # Before the gate: the pool was created in the hub VNet / the image read any account.
    assert [e for e in azure_requests(azuresim.admin_url, azuresim.ca_bundle)
            if e["method"] in WRITES] == []


def test_a_vhd_must_live_on_the_storage_account_it_names(kubesim: Emulator,
                                                         azuresim: Emulator, crs: CRs) -> None:
    manifest = example("vhd")["ManagedImage"]
    manifest["spec"]["source"]["vhd"]["blobUri"] = \
        "https://finance.blob.core.windows.net/images/ubuntu.vhd"
    with running_operator(kubesim.url, azuresim.env):
        crs.create(manifest)
        refused = crs.wait("managedimages", manifest["metadata"]["name"],
                           has_condition("Ready", "False", "InvalidSpec"))
        assert "storage account packerbuilds" in condition(refused, "Ready")["message"]


def test_accounts_of_refused_pools_are_not_read(tmp_path: Path, kubesim: Emulator,
                                                azuresim: Emulator, crs: CRs) -> None:
    docs = example()
    pool = docs["BatchPool"]
    pool["spec"]["account"] = {"resourceGroup": "rg-finance", "name": "payroll"}
    with running_operator(kubesim.url, azuresim.env,
                          BIO_ALLOWLIST_FILE=allow_only(tmp_path, "rg-batch-images")):
        crs.create(docs["ManagedImage"])
        crs.wait("managedimages", "ubuntu-hpc", has_condition("Ready"))
        crs.create(pool)
        crs.wait("batchpools", "render-pool", has_condition("Ready", "False", "NotAllowed"))
        crs.delete("batchpools", "render-pool")
        crs.delete("managedimages", "ubuntu-hpc")
        crs.wait_deleted("managedimages", "ubuntu-hpc")
    # Before the gate the image's in-use check listed the pools of rg-finance/payroll.
    assert requests_to(azuresim, "/rg-finance/") == []


def test_ids_forged_into_status_are_not_trusted(kubesim: Emulator, azuresim: Emulator,
                                                crs: CRs) -> None:
    _, batch = azure_sdk(azuresim.env)
    docs = example()
    victim_image = f"{P}/rg-batch-images/providers/Microsoft.Compute/images/finance-golden"
    paused = {"batchimage.dev/paused": "true"}
    image = docs["ManagedImage"]
    image["metadata"]["annotations"] = paused
    with running_operator(kubesim.url, azuresim.env):
        crs.create(image)
        crs.wait("managedimages", "ubuntu-hpc", has_condition("Paused"))
        # Someone able to write status (or a bug) points it at another team's image.
        crs.api.patch_namespaced_custom_object_status(
            "batchimage.dev", "v1alpha1", "default", "managedimages", "ubuntu-hpc",
            {"status": {"imageId": victim_image, "conditions": [
                {"type": "Ready", "status": "True", "reason": "ImageReady", "message": "",
                 "lastTransitionTime": "2026-01-01T00:00:00Z"}]}})
        crs.create(docs["BatchPool"])
        waiting = crs.wait("batchpools", "render-pool",
                           has_condition("ImageResolved", "False", "ImageNotReady"))
        assert victim_image not in str(waiting["status"])
    # Before: the pool was created booting from the forged image id.
    with pytest.raises(ResourceNotFoundError):
        batch.pool.get("rg-batch", "batchdemo", "render-pool")


def test_snapshot_ids_forged_into_status_are_not_deleted(kubesim: Emulator,
                                                         azuresim: Emulator, crs: CRs) -> None:
    compute, _ = azure_sdk(azuresim.env)
    docs = example("vm-capture")
    image = docs["ManagedImage"]
    name = image["metadata"]["name"]
    victim = f"{P}/rg-batch-images/providers/Microsoft.Compute/snapshots/ubuntu-hpc-os"
    with running_operator(kubesim.url, azuresim.env):
        crs.create(image)
        crs.wait("managedimages", name, has_condition("Ready"))
    own = crs.get("managedimages", name)["status"]["snapshotIds"]
    crs.api.patch_namespaced_custom_object_status(
        "batchimage.dev", "v1alpha1", "default", "managedimages", name,
        {"status": {"snapshotIds": [*own, victim]}})
    # A new process (a restart, a failover) knows only what status says.
    with running_operator(kubesim.url, azuresim.env):
        crs.delete("managedimages", name)
        crs.wait_deleted("managedimages", name)
    # Before: the capture's clean-up deleted every snapshot status named.
    assert compute.snapshots.get("rg-batch-images", "ubuntu-hpc-os")
    for raw in own:  # its own captured snapshots are cleaned up as before
        with pytest.raises(ResourceNotFoundError):
            compute.snapshots.get("rg-batch-images", raw.rsplit("/", 1)[1])


def test_pools_naming_the_image_by_id_block_its_deletion(kubesim: Emulator,
                                                         azuresim: Emulator, crs: CRs) -> None:
    docs = example()
    api = kube_api(kubesim.kubeconfig)
    k8s.CoreV1Api(api).create_namespace({"metadata": {"name": "team-b"}})
    team_b = CRs(api, "team-b")
    compute, _ = azure_sdk(azuresim.env)
    with running_operator(kubesim.url, azuresim.env):
        crs.create(docs["ManagedImage"])
        image = crs.wait("managedimages", "ubuntu-hpc", has_condition("Ready"))
        theirs = docs["BatchPool"]
        theirs["metadata"] = {"name": "by-id"}
        theirs["spec"]["image"] = {"id": image["status"]["imageId"]}
        theirs["spec"]["scale"]["fixed"]["targetDedicatedNodes"] = 1
        team_b.create(theirs)
        team_b.wait("batchpools", "by-id", has_condition("Ready"))
        crs.delete("managedimages", "ubuntu-hpc")
        blocked = crs.wait("managedimages", "ubuntu-hpc", has_condition("DeletionBlocked"))
        message = condition(blocked, "DeletionBlocked")["message"]
        assert "1 BatchPool(s) in other namespaces" in message and "by-id" not in message
        assert compute.images.get("rg-batch-images", "ubuntu-hpc")
        team_b.delete("batchpools", "by-id")
        crs.wait_deleted("managedimages", "ubuntu-hpc")


def test_refused_pools_claim_no_budget_and_other_namespaces_stay_anonymous(
        kubesim: Emulator, azuresim: Emulator, crs: CRs) -> None:
    docs = example()
    api = kube_api(kubesim.kubeconfig)
    k8s.CoreV1Api(api).create_namespace({"metadata": {"name": "team-b"}})
    team_b = CRs(api, "team-b")
    with running_operator(kubesim.url, azuresim.env):
        crs.create(docs["ManagedImage"])
        image = crs.wait("managedimages", "ubuntu-hpc", has_condition("Ready"))
        big = docs["BatchPool"]
        big["metadata"]["name"] = "secret-render"
        big["spec"]["scale"]["fixed"]["targetDedicatedNodes"] = 2400
        crs.create(big)
        crs.wait("batchpools", "secret-render", has_condition("WithinLimits"))

        def by_id(name: str, nodes: int) -> dict:
            pool = copy.deepcopy(docs["BatchPool"])
            pool["metadata"] = {"name": name}
            pool["spec"]["image"] = {"id": image["status"]["imageId"]}
            pool["spec"]["scale"]["fixed"]["targetDedicatedNodes"] = nodes
            return pool

        team_b.create(by_id("greedy", 500))
        refused = team_b.wait("batchpools", "greedy",
                              has_condition("WithinLimits", "False", "LimitExceeded"))
        message = condition(refused, "WithinLimits")["message"]
        assert "1 pool(s) in other namespaces" in message
        assert "secret-render" not in message and "default" not in message
        # The refused 500 claims nothing: 2400 + 100 fits (before: 3000/2500, refused).
        team_b.create(by_id("modest", 100))
        ok = team_b.wait("batchpools", "modest", has_condition("WithinLimits"))
        assert "admitted for 100 dedicated" in condition(ok, "WithinLimits")["message"]


def test_autoscale_pools_on_custom_images_count_their_ceiling(
        kubesim: Emulator, azuresim: Emulator, crs: CRs) -> None:
    docs = example()
    _, batch = azure_sdk(azuresim.env)
    with running_operator(kubesim.url, azuresim.env):
        crs.create(docs["ManagedImage"])
        crs.wait("managedimages", "ubuntu-hpc", has_condition("Ready"))
        auto = copy.deepcopy(docs["BatchPool"])
        auto["metadata"]["name"] = "elastic"
        auto["spec"]["scale"] = {"autoScale": {"formula": "$TargetDedicatedNodes = 2;",
                                               "evaluationInterval": "PT5M",
                                               "maxDedicatedNodes": 2400}}
        crs.create(auto)
        crs.wait("batchpools", "elastic", has_condition("WithinLimits"))
        formula = batch.pool.get("rg-batch", "batchdemo", "elastic").scale_settings \
            .auto_scale.formula
        assert formula.endswith("$TargetLowPriorityNodes = min($TargetLowPriorityNodes, 0);")
        assert "min($TargetDedicatedNodes, 2400)" in formula
        fixed = copy.deepcopy(docs["BatchPool"])
        fixed["metadata"] = {"name": "fixed"}
        fixed["spec"]["scale"]["fixed"]["targetDedicatedNodes"] = 200
        crs.create(fixed)
        # Before: autoscale pools counted as 0 nodes, so this was let through.
        crs.wait("batchpools", "fixed", has_condition("WithinLimits", "False", "LimitExceeded"))
