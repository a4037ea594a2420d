"""Guards that act before any Azure call: node limits per image lineage, allow-lists."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from azure.core.exceptions import ResourceNotFoundError

from helpers.system import (
    CRs,
    StartOperator,
    azure_requests,
    azure_sdk,
    condition,
    has_condition,
    load_example,
)
from helpers.waits import eventually
from simlaunch import Emulator


def example() -> tuple[dict, dict]:
    docs = {d["kind"]: d for d in load_example("snapshots")}
    return copy.deepcopy(docs["ManagedImage"]), copy.deepcopy(docs["BatchPool"])


def second_pool(pool: dict, name: str, dedicated: int) -> dict:
    other = copy.deepcopy(pool)
    other["metadata"]["name"] = name
    other["spec"]["scale"]["fixed"]["targetDedicatedNodes"] = dedicated
    return other


def test_limit_per_image_lineage_is_enforced_before_azure(
        start_operator: StartOperator, azuresim: Emulator, crs: CRs) -> None:
    image, pool = example()
    _, batch = azure_sdk(azuresim.env)
    with start_operator():
        crs.create(image)
        crs.create(pool)  # 4 dedicated nodes
        crs.wait("batchpools", "render-pool", has_condition("Ready"))

        azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
        crs.create(second_pool(pool, "greedy-pool", 2497))  # 4 + 2497 > 2,500
        refused = crs.wait("batchpools", "greedy-pool",
                           has_condition("WithinLimits", "False", "LimitExceeded"))
        assert "2501/2500 dedicated" in condition(refused, "WithinLimits")["message"]
        assert condition(refused, "Ready")["reason"] == "LimitExceeded"
        assert crs.wait_event("greedy-pool", "LimitExceeded")["type"] == "Warning"
        log = azure_requests(azuresim.admin_url, azuresim.ca_bundle)
        assert not [e for e in log if "greedy-pool" in e["path"]], log
        with pytest.raises(ResourceNotFoundError):
            batch.pool.get("rg-batch", "batchdemo", "greedy-pool")

        # Shrinking it under the cap lets it through, with the shared-image warning.
        crs.patch("batchpools", "greedy-pool",
                  {"spec": {"scale": {"fixed": {"targetDedicatedNodes": 2}}}})
        ok = crs.wait("batchpools", "greedy-pool", has_condition("Ready"))
        # Its own nodes and the limit: the lineage's running total (here 6) is given on a
        # refusal only, so siblings do not rewrite each other's status.
        assert "admitted for 2 dedicated" in condition(ok, "WithinLimits")["message"]
        assert crs.wait_event("greedy-pool", "SharedImage")["type"] == "Warning"
        assert batch.pool.get("rg-batch", "batchdemo", "greedy-pool").current_dedicated_nodes == 2


def test_images_built_from_the_same_snapshots_share_one_limit(
        start_operator: StartOperator, crs: CRs) -> None:
    # The lineage index finds the pools of another ManagedImage built from the same
    # snapshots (the admission no longer walks every image key to find them).
    image, pool = example()
    twin = copy.deepcopy(image)
    twin["metadata"]["name"] = "ubuntu-hpc-twin"
    on_twin = second_pool(pool, "twin-pool", 600)
    on_twin["spec"]["image"] = {"managedImageRef": {"name": "ubuntu-hpc-twin"}}
    with start_operator():
        crs.create(image)
        crs.create(twin)
        crs.create(second_pool(pool, "big-pool", 2000))
        crs.wait("batchpools", "big-pool", has_condition("WithinLimits"))
        crs.wait("managedimages", "ubuntu-hpc-twin", has_condition("Ready"))
        crs.create(on_twin)
        refused = crs.wait("batchpools", "twin-pool",
                           has_condition("WithinLimits", "False", "LimitExceeded"))
        message = condition(refused, "WithinLimits")["message"]
        assert "2600/2500 dedicated" in message and "big-pool" in message


def test_siblings_joining_a_lineage_do_not_rewrite_an_admitted_pools_status(
        start_operator: StartOperator, azuresim: Emulator, crs: CRs) -> None:
    # A status write per pool per sibling made a 5,000-pool burst (20 pools an image)
    # cost 2.6 status changes a pool instead of 1: the admitted message carried the
    # lineage's running node total.
    image, pool = example()
    with start_operator(BIO_DRIFT_INTERVAL="0.5"):
        crs.create(image)
        crs.create(pool)
        first = crs.wait("batchpools", "render-pool", has_condition("Ready"))
        message = condition(first, "WithinLimits")["message"]
        siblings = [f"sibling-{i}" for i in range(6)]
        for name in siblings:
            crs.create(second_pool(pool, name, 10))
        for name in siblings:
            crs.wait("batchpools", name, has_condition("Ready"))
        # Every pool has passed again since the last sibling was admitted.
        azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
        eventually(lambda: azure_requests(azuresim.admin_url, azuresim.ca_bundle),
                   lambda log: all(sum(1 for e in log if e["method"] == "GET" and
                                       e["path"].endswith(f"/pools/{name}")) >= 2
                                   for name in ["render-pool", *siblings]))
        after = crs.get("batchpools", "render-pool")
        # Not written since it was Ready (before: its message went 4/2500 -> 64/2500).
        assert after["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"], \
            (message, condition(after, "WithinLimits"))
        assert condition(after, "WithinLimits")["message"] == message
        assert all(condition(crs.get("batchpools", name), "WithinLimits")["message"] ==
                   condition(crs.get("batchpools", siblings[0]), "WithinLimits")["message"]
                   for name in siblings)


def test_allow_list_keeps_a_namespace_out_of_other_subscriptions(
        tmp_path: Path, start_operator: StartOperator, azuresim: Emulator, crs: CRs) -> None:
    allow = tmp_path / "allowlist.yaml"
    allow.write_text('"*": ["/subscriptions/11111111-2222-4333-8444-555555555555"]\n')
    image, _ = example()
    azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
    with start_operator(BIO_ALLOWLIST_FILE=str(allow)):
        crs.create(image)
        refused = crs.wait("managedimages", "ubuntu-hpc", has_condition("Ready", "False",
                                                                         "NotAllowed"))
        assert "allow-list" in condition(refused, "Ready")["message"]
        # Deleting what was never allowed completes without touching Azure.
        crs.delete("managedimages", "ubuntu-hpc")
        crs.wait_deleted("managedimages", "ubuntu-hpc")
    log = azure_requests(azuresim.admin_url, azuresim.ca_bundle)
    assert [e for e in log if "/subscriptions/" in e["path"]] == []
