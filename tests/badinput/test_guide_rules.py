"""Specs that pass the CRD schema but break a rule of the Batch custom-image guide (or
Batch's own validation): each must get a clear Ready=False condition before any Azure
write, and ids in a foreign subscription must never reach a URL."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from helpers.system import (
    CRs,
    azure_requests,
    condition,
    has_condition,
    load_example,
    running_operator,
)
from simlaunch import Emulator

FOREIGN = "0badc0de-0000-4000-8000-000000000000"
CLEAR_REASONS = {"InvalidSpec", "NotAllowed", "LimitExceeded"}
WRITES = {"PUT", "PATCH", "POST", "DELETE"}
Obj = dict[str, Any]


def docs() -> tuple[Obj, Obj]:
    by_kind = {d["kind"]: d for d in load_example("snapshots")}
    return copy.deepcopy(by_kind["ManagedImage"]), copy.deepcopy(by_kind["BatchPool"])


def foreign_pool_image(image: Obj, pool: Obj) -> Obj:
    # The guide: the image must be in the Batch account's subscription.
    pool["spec"]["image"] = {"id": f"/subscriptions/{FOREIGN}/resourceGroups/rg/providers/"
                                   "Microsoft.Compute/images/elsewhere"}
    return pool


def foreign_snapshot(image: Obj, pool: Obj) -> Obj:
    image["metadata"]["name"] = "foreign-snap"
    image["spec"]["source"]["snapshots"]["osDisk"]["snapshotId"] = (
        f"/subscriptions/{FOREIGN}/resourceGroups/rg/providers/Microsoft.Compute/snapshots/os")
    return image


def short_resize_timeout(image: Obj, pool: Obj) -> Obj:
    # Batch refuses a resizeTimeout under 5 minutes; the schema's pattern accepts PT1M.
    pool["spec"]["scale"]["fixed"]["resizeTimeout"] = "PT1M"
    return pool


def inverted_nat_range(image: Obj, pool: Obj) -> Obj:
    pool["spec"]["network"] = {"inboundNatPools": [{
        "name": "ssh", "protocol": "TCP", "backendPort": 22,
        "frontendPortRangeStart": 2000, "frontendPortRangeEnd": 1000}]}
    return pool


def duplicate_luns(image: Obj, pool: Obj) -> Obj:
    # A list-map key twice: the API server refuses it (422); the operator would too.
    image["metadata"]["name"] = "dup-luns"
    disks = image["spec"]["source"]["snapshots"]["dataDisks"]
    disks.append(dict(disks[0]))
    return image


Case = Callable[[Obj, Obj], Obj]
CASES = [
    pytest.param(duplicate_luns, id="duplicate-data-disk-luns"),
    pytest.param(foreign_pool_image, id="pool-image-in-foreign-subscription"),
    pytest.param(foreign_snapshot, id="snapshot-in-foreign-subscription"),
    pytest.param(short_resize_timeout, id="resize-timeout-under-5-minutes"),
    pytest.param(inverted_nat_range, id="nat-frontend-range-inverted"),
]


@pytest.mark.parametrize("case", CASES)
def test_guide_rule_is_enforced_before_azure(case: Case, kubesim: Emulator,
                                             azuresim: Emulator, crs: CRs) -> None:
    image, pool = docs()
    with running_operator(kubesim.url, azuresim.env):
        crs.create(copy.deepcopy(image))
        crs.wait("managedimages", "ubuntu-hpc", has_condition("Ready"))  # pools can go ahead
        azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
        bad = case(image, pool)
        plural = bad["kind"].lower() + "s"
        try:
            crs.create(bad)
        except ApiException as exc:
            assert exc.status == 422, exc.body  # refused at apply time: fine
            return
        got = crs.wait(plural, bad["metadata"]["name"],
                       lambda o: condition(o, "Ready") is not None
                       and condition(o, "Ready")["reason"] not in ("Creating", "Resizing"),
                       timeout=30)
        log = azure_requests(azuresim.admin_url, azuresim.ca_bundle)
    ready = condition(got, "Ready")
    assert [e for e in log if FOREIGN in e["path"]] == [], "a foreign subscription id reached a URL"
    assert [e for e in log if e["method"] in WRITES] == [], log
    assert ready["status"] == "False" and ready["reason"] in CLEAR_REASONS, ready
