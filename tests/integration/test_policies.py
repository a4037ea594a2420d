"""Deletion policies, in-use protection from Azure's side, immutable fields, pausing,
and picking up after a restart without duplicate Azure resources."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError

from helpers.system import (
    SUB,
    WRITES,
    CRs,
    StartOperator,
    azure_requests,
    azure_sdk,
    condition,
    has_condition,
    install_pool_crd_without_transition_rules,
    running_operator,
)
from helpers.system import example_by_kind as example
from simlaunch import Emulator

ACCOUNT = (f"/subscriptions/{SUB}/resourceGroups/rg-batch/providers/Microsoft.Batch"
           "/batchAccounts/batchdemo")


def writes_to(log: list[dict], fragment: str) -> list[dict]:
    return [e for e in log if e["method"] in WRITES and fragment in e["path"]]


def stays(read: Callable[[], Any], ok: Callable[[Any], bool], seconds: float) -> Any:
    """Re-read a value for a bounded window and fail the moment ``ok`` stops holding.

    Absence (no Azure call) has no event to wait for: the window is the proof, so it
    must cover several of the intervals at which the call would come.
    """
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        assert ok(value), value
        if time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_retain_leaves_azure_resources(kubesim: Emulator, azuresim: Emulator, crs: CRs) -> None:
    docs = example()
    for kind in ("ManagedImage", "BatchPool"):
        docs[kind]["spec"]["deletionPolicy"] = "Retain"
    compute, batch = azure_sdk(azuresim.env)
    with running_operator(kubesim.url, azuresim.env):
        crs.create(docs["ManagedImage"])
        crs.create(docs["BatchPool"])
        crs.wait("batchpools", "render-pool", has_condition("Ready"))
        crs.delete("batchpools", "render-pool")
        crs.wait_deleted("batchpools", "render-pool")
        crs.delete("managedimages", "ubuntu-hpc")
        crs.wait_deleted("managedimages", "ubuntu-hpc")
    assert batch.pool.get("rg-batch", "batchdemo", "render-pool").current_dedicated_nodes == 4
    assert compute.images.get("rg-batch-images", "ubuntu-hpc").provisioning_state == "Succeeded"


def test_pools_in_azure_protect_the_image_too(start_operator: StartOperator,
                                              azuresim: Emulator, crs: CRs) -> None:
    """A pool created outside Kubernetes (or Retained) still needs the image."""
    docs = example()
    compute, batch = azure_sdk(azuresim.env)
    with start_operator(BIO_BATCH_ACCOUNTS=ACCOUNT):
        crs.create(docs["ManagedImage"])
        image = crs.wait("managedimages", "ubuntu-hpc", has_condition("Ready"))
        outside = {"properties": {
            "vmSize": "STANDARD_D2S_V3",
            "deploymentConfiguration": {"virtualMachineConfiguration": {
                "imageReference": {"id": image["status"]["imageId"]},
                "nodeAgentSkuId": "batch.node.ubuntu 22.04"}},
            "scaleSettings": {"fixedScale": {"targetDedicatedNodes": 1}}}}
        batch.pool.create("rg-batch", "batchdemo", "handmade", outside)
        crs.delete("managedimages", "ubuntu-hpc")
        blocked = crs.wait("managedimages", "ubuntu-hpc", has_condition("DeletionBlocked"))
        assert "batchdemo/handmade (Azure pool)" in condition(blocked, "DeletionBlocked")["message"]
        assert compute.images.get("rg-batch-images", "ubuntu-hpc")
        batch.pool.begin_delete("rg-batch", "batchdemo", "handmade").result()
        crs.wait_deleted("managedimages", "ubuntu-hpc")
    with pytest.raises(ResourceNotFoundError):
        compute.images.get("rg-batch-images", "ubuntu-hpc")


def test_immutable_pool_change_is_reported_not_written(kubesim: Emulator, azuresim: Emulator,
                                                       crs: CRs) -> None:
    install_pool_crd_without_transition_rules(kubesim)
    docs = example()
    _, batch = azure_sdk(azuresim.env)
    with running_operator(kubesim.url, azuresim.env):
        crs.create(docs["ManagedImage"])
        crs.create(docs["BatchPool"])
        crs.wait("batchpools", "render-pool", has_condition("Ready"))
        azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
        crs.patch("batchpools", "render-pool", {"spec": {"vmSize": "Standard_F8s_v2"}})
        changed = crs.wait("batchpools", "render-pool",
                           has_condition("Ready", "False", "ImmutableFieldChanged"))
        assert "vmSize" in condition(changed, "Ready")["message"]
        assert crs.wait_event("render-pool", "ImmutableFieldChanged")["type"] == "Warning"
        log = azure_requests(azuresim.admin_url, azuresim.ca_bundle)
        assert writes_to(log, "/pools/") == []
        assert batch.pool.get("rg-batch", "batchdemo", "render-pool").vm_size.lower() == \
            "standard_d4s_v3"
        # Reverting the change makes the pool Ready again, still without a write.
        crs.patch("batchpools", "render-pool", {"spec": {"vmSize": "Standard_D4s_v3"}})
        crs.wait("batchpools", "render-pool", has_condition("Ready"))
        assert writes_to(azure_requests(azuresim.admin_url, azuresim.ca_bundle), "/pools/") == []


def test_paused_objects_get_no_azure_calls(kubesim: Emulator, azuresim: Emulator,
                                           crs: CRs) -> None:
    docs = example()
    docs["ManagedImage"]["metadata"]["annotations"] = {"batchimage.dev/paused": "true"}
    azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
    with running_operator(kubesim.url, azuresim.env):
        crs.create(docs["ManagedImage"])
        crs.wait("managedimages", "ubuntu-hpc", has_condition("Paused"))
        assert writes_to(azure_requests(azuresim.admin_url, azuresim.ca_bundle), "/images/") \
            == []
        crs.patch("managedimages", "ubuntu-hpc",
                  {"metadata": {"annotations": {"batchimage.dev/paused": None}}})
        ready = crs.wait("managedimages", "ubuntu-hpc", has_condition("Ready"))
        assert condition(ready, "Paused")["status"] == "False"


def test_paused_image_makes_no_azure_call_at_all(kubesim: Emulator, azuresim: Emulator,
                                                crs: CRs) -> None:
    """Paused means no Azure call, reads included, for as long as the annotation stays:
    watched over ten poll intervals and three drift checks, not at one instant."""
    docs = example()
    docs["ManagedImage"]["metadata"]["annotations"] = {"batchimage.dev/paused": "true"}
    azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
    with running_operator(kubesim.url, azuresim.env, BIO_POLL_INTERVAL="0.3",
                          BIO_DRIFT_INTERVAL="1"):
        crs.create(docs["ManagedImage"])
        crs.wait("managedimages", "ubuntu-hpc", has_condition("Paused"))
        stays(lambda: azure_requests(azuresim.admin_url, azuresim.ca_bundle),
              lambda log: log == [], seconds=3.0)
        # Resumed, the same operator does call Azure: the silence above was the pause.
        crs.patch("managedimages", "ubuntu-hpc",
                  {"metadata": {"annotations": {"batchimage.dev/paused": None}}})
        crs.wait("managedimages", "ubuntu-hpc", has_condition("Ready"))
    assert writes_to(azure_requests(azuresim.admin_url, azuresim.ca_bundle), "/images/")


def test_restart_picks_up_without_duplicates(kubesim: Emulator, azuresim: Emulator,
                                             crs: CRs) -> None:
    docs = example()
    with running_operator(kubesim.url, azuresim.env):
        crs.create(docs["ManagedImage"])
        crs.create(docs["BatchPool"])
        # Stop as soon as the pool exists in Azure, long before it is Ready.
        crs.wait("batchpools", "render-pool", lambda o: bool(o.get("status", {}).get(
            "resourceId")))
    azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
    with running_operator(kubesim.url, azuresim.env):
        crs.wait("batchpools", "render-pool", has_condition("Ready"))
        crs.wait("managedimages", "ubuntu-hpc", has_condition("Ready"))
    log = azure_requests(azuresim.admin_url, azuresim.ca_bundle)
    # The restarted operator found both resources: no create was issued again.
    assert [e for e in log if e["method"] == "PUT"] == []


def test_pausing_a_pool_is_seen_at_once(kubesim: Emulator, azuresim: Emulator,
                                        crs: CRs) -> None:
    """Pausing and resuming are edits: neither waits for the drift check (here 300 s)."""
    docs = example()
    paused = {"batchimage.dev/paused": "true"}
    with running_operator(kubesim.url, azuresim.env, BIO_DRIFT_INTERVAL="300"):
        crs.create(docs["ManagedImage"])
        crs.create(docs["BatchPool"])
        crs.wait("batchpools", "render-pool", has_condition("Ready"))
        crs.patch("batchpools", "render-pool", {"metadata": {"annotations": paused}})
        crs.wait("batchpools", "render-pool", has_condition("Paused"), timeout=10)
        azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
        crs.patch("batchpools", "render-pool",
                  {"spec": {"scale": {"fixed": {"targetDedicatedNodes": 2}}}})
        crs.wait("batchpools", "render-pool", lambda o: o["status"].get(
            "observedGeneration") == o["metadata"]["generation"], timeout=10)
        assert writes_to(azure_requests(azuresim.admin_url, azuresim.ca_bundle), "/pools/") \
            == []
        crs.patch("batchpools", "render-pool",
                  {"metadata": {"annotations": {"batchimage.dev/paused": None}}})
        crs.wait("batchpools", "render-pool", lambda o: has_condition("Paused", "False")(o)
                 and o["status"].get("currentDedicatedNodes") == 2, timeout=10)
