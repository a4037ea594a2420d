"""Promises a new user found broken on day one: the deletion guard follows Azure, limits
are checked on every change, an Azure twin deleted behind the operator's back is said
out loud, and the shared-image warning is posted once per pool."""

from __future__ import annotations

import copy

import pytest
from azure.core.exceptions import ResourceNotFoundError

from helpers.system import (
    WRITES,
    CRs,
    azure_requests,
    azure_sdk,
    condition,
    has_condition,
    install_pool_crd_without_transition_rules,
    running_operator,
)
from helpers.system import example_by_kind as example
from helpers.waits import eventually
from simlaunch import Emulator


def pool_named(docs: dict, name: str, nodes: int) -> dict:
    pool = copy.deepcopy(docs["BatchPool"])
    pool["metadata"] = {"name": name}
    pool["spec"]["scale"]["fixed"]["targetDedicatedNodes"] = nodes
    return pool


def test_the_guard_follows_the_image_azure_boots_from(kubesim: Emulator, azuresim: Emulator,
                                                      crs: CRs) -> None:
    # The API server now refuses an image change; objects from before that rule can
    # still carry one, and then Azure keeps booting from the old image.
    install_pool_crd_without_transition_rules(kubesim)
    docs = example()
    compute, batch = azure_sdk(azuresim.env)
    with running_operator(kubesim.url, azuresim.env):
        crs.create(docs["ManagedImage"])
        crs.create(docs["BatchPool"])
        crs.wait("batchpools", "render-pool", has_condition("Ready"))
        newer = copy.deepcopy(docs["ManagedImage"])
        newer["metadata"] = {"name": "ubuntu-hpc-v2"}
        crs.create(newer)
        crs.wait("managedimages", "ubuntu-hpc-v2", has_condition("Ready"))
        # A refused image change: the Azure pool still boots from the old image.
        crs.patch("batchpools", "render-pool",
                  {"spec": {"image": {"managedImageRef": {"name": "ubuntu-hpc-v2"}}}})
        crs.wait("batchpools", "render-pool",
                 has_condition("Ready", "False", "ImmutableFieldChanged"))
        crs.delete("managedimages", "ubuntu-hpc")
        blocked = crs.wait("managedimages", "ubuntu-hpc", has_condition("DeletionBlocked"))
        assert "render-pool" in condition(blocked, "DeletionBlocked")["message"]
        # Before: usedBy followed the spec ([]), and the image went while Azure used it.
        assert compute.images.get("rg-batch-images", "ubuntu-hpc")
        crs.delete("batchpools", "render-pool")
        crs.wait_deleted("managedimages", "ubuntu-hpc")
    with pytest.raises(ResourceNotFoundError):
        batch.pool.get("rg-batch", "batchdemo", "render-pool")


def test_the_change_that_would_exceed_the_limit_is_refused_and_nobody_else_degrades(
        kubesim: Emulator, azuresim: Emulator, crs: CRs) -> None:
    docs = example()
    _, batch = azure_sdk(azuresim.env)
    with running_operator(kubesim.url, azuresim.env, BIO_DRIFT_INTERVAL="1"):
        crs.create(docs["ManagedImage"])
        crs.create(docs["BatchPool"])  # the oldest pool of the lineage: 4 nodes
        crs.wait("batchpools", "render-pool", has_condition("Ready"))
        for i in range(3):
            crs.create(pool_named(docs, f"later-{i}", 300))
        for i in range(3):
            crs.wait("batchpools", f"later-{i}", has_condition("Ready"))
        azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
        crs.patch("batchpools", "render-pool",
                  {"spec": {"scale": {"fixed": {"targetDedicatedNodes": 2000}}}})
        refused = crs.wait("batchpools", "render-pool",
                           has_condition("WithinLimits", "False", "LimitExceeded"))
        assert "2900/2500 dedicated" in condition(refused, "WithinLimits")["message"]
        # Refused before any Azure call (before: PATCH, then a transient AzureError).
        assert [e for e in azure_requests(azuresim.admin_url, azuresim.ca_bundle)
                if e["method"] in WRITES and "render-pool" in e["path"]] == []
        assert batch.pool.get("rg-batch", "batchdemo", "render-pool") \
            .scale_settings.fixed_scale.target_dedicated_nodes == 4
        # The unchanged pools keep passing (drift 1 s) and never turn Degraded (before:
        # each flipped to LimitExceeded at its next pass).
        azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
        eventually(lambda: azure_requests(azuresim.admin_url, azuresim.ca_bundle),
                   lambda log: all(sum(1 for e in log if e["method"] == "GET"
                                       and e["path"].endswith(f"/pools/later-{i}")) >= 2
                                   for i in range(3)))
        for i in range(3):
            pool = crs.get("batchpools", f"later-{i}")
            assert condition(pool, "Ready")["status"] == "True"
            assert condition(pool, "WithinLimits")["status"] == "True"
        # Lowering it again is accepted.
        crs.patch("batchpools", "render-pool",
                  {"spec": {"scale": {"fixed": {"targetDedicatedNodes": 5}}}})
        crs.wait("batchpools", "render-pool", lambda o: has_condition("Ready")(o)
                 and o["status"].get("currentDedicatedNodes") == 5)


def test_an_azure_pool_deleted_behind_the_operators_back_is_reported(
        kubesim: Emulator, azuresim: Emulator, crs: CRs) -> None:
    docs = example()
    _, batch = azure_sdk(azuresim.env)
    with running_operator(kubesim.url, azuresim.env, BIO_DRIFT_INTERVAL="1"):
        crs.create(docs["ManagedImage"])
        crs.create(docs["BatchPool"])
        crs.wait("batchpools", "render-pool", has_condition("Ready"))
        batch.pool.begin_delete("rg-batch", "batchdemo", "render-pool").result()
        event = crs.wait_event("render-pool", "AzurePoolDisappeared")
        assert event["type"] == "Warning"
        assert "re-created" in event["message"]
        crs.wait("batchpools", "render-pool", has_condition("Ready"))


def test_shared_image_is_warned_once_per_pool(kubesim: Emulator, azuresim: Emulator,
                                             crs: CRs) -> None:
    docs = example()
    with running_operator(kubesim.url, azuresim.env, BIO_DRIFT_INTERVAL="1"):
        crs.create(docs["ManagedImage"])
        crs.create(docs["BatchPool"])
        for i in range(3):
            crs.create(pool_named(docs, f"more-{i}", 1))
        for name in ("render-pool", "more-0", "more-1", "more-2"):
            crs.wait("batchpools", name, has_condition("Ready"))
        # Every pool has passed again since the last one joined (drift 1 s).
        azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
        eventually(lambda: azure_requests(azuresim.admin_url, azuresim.ca_bundle),
                   lambda log: all(any(e["method"] == "GET" and e["path"].endswith(
                       f"/pools/{name}") for e in log)
                       for name in ("render-pool", "more-0", "more-1", "more-2")))
        for name in ("render-pool", "more-0", "more-1", "more-2"):
            shared = [e for e in crs.events(name) if e["reason"] == "SharedImage"]
            # Before: re-posted on every pool whenever the list of names grew.
            assert len(shared) == 1, shared
            assert "other pool(s)" in shared[0]["message"]
