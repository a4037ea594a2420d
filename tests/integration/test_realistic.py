"""The whole guide on Azure's real timings (azuresim's realistic profile, sped up by a
factor) with ARM throttling on: VM snapshots -> image -> gallery version -> pool ->
resize -> delete converges with no 429 and no poll sooner than Retry-After allows."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.system import (
    SEED,
    SUB,
    CRs,
    azure_admin,
    azure_requests,
    azure_sdk,
    has_condition,
    load_example,
    running_operator,
)
from simlaunch import Emulator, run_azuresim

# Real durations x 0.05: snapshot and image 1 s, gallery version 9 s (Retry-After 3 s),
# each allocation 9 s, pool delete 1 s. The whole guide runs in well under a minute.
FACTOR = "0.05"


@pytest.fixture
def azuresim(tmp_path: Path) -> Iterator[Emulator]:
    with run_azuresim(tmp_path / "azuresim", "--seed", str(SEED), "--subscription-id", SUB,
                      "--profile", "realistic", "--factor", FACTOR) as sim:
        yield sim


def _guide() -> tuple[dict, dict]:
    image = copy.deepcopy({d["kind"]: d for d in load_example("vm-capture")}["ManagedImage"])
    gallery = {d["kind"]: d for d in load_example("gallery")}["ManagedImage"]["spec"]["gallery"]
    image["spec"]["gallery"] = copy.deepcopy(gallery)
    pool = copy.deepcopy({d["kind"]: d for d in load_example("vm-capture")}["BatchPool"])
    return image, pool


def _polls_sooner_than_retry_after(log: list[dict]) -> list[str]:
    """GETs of a resource whose last LRO asked for Retry-After r, sent less than r after
    the call before them on that resource (until a GET finds it gone)."""
    early, last, interval = [], {}, {}
    for entry in sorted(log, key=lambda e: e["at"]):
        path = entry["path"].lower()
        if entry["method"] in ("PUT", "PATCH", "DELETE"):
            interval[path] = float(entry.get("retryAfter") or 0)
        elif entry["method"] == "GET" and path in last and \
                entry["at"] - last[path] < interval.get(path, 0) - 0.05:
            early.append(f"{path}: {entry['at'] - last[path]:.2f}s < {interval[path]}s")
        if entry["method"] == "GET" and entry["status"] == 404:
            interval.pop(path, None)
        last[path] = entry["at"]
    return early


def test_the_whole_guide_converges_on_realistic_azure(kubesim: Emulator, azuresim: Emulator,
                                                      crs: CRs) -> None:
    assert azure_admin(azuresim, "GET", "/throttling")["enabled"] is True
    image, pool = _guide()
    compute, batch = azure_sdk(azuresim.env)
    with running_operator(kubesim.url, azuresim.env, BIO_POLL_INTERVAL="0.5",
                          BIO_DRIFT_INTERVAL="60"):
        crs.create(image)
        crs.create(pool)
        ready = crs.wait("managedimages", "hpc-captured", has_condition("Ready"), timeout=60)
        assert ready["status"]["galleryImageVersionId"].endswith("/versions/1.0.0")
        crs.wait("batchpools", "captured-pool", has_condition("Ready"), timeout=60)
        crs.patch("batchpools", "captured-pool",
                  {"spec": {"scale": {"fixed": {"targetDedicatedNodes": 3}}}})
        grown = crs.wait("batchpools", "captured-pool", lambda o: has_condition("Ready")(o)
                         and o["status"]["currentDedicatedNodes"] == 3, timeout=60)
        assert grown["status"]["allocationState"] == "Steady"
        crs.delete("batchpools", "captured-pool")
        crs.wait_deleted("batchpools", "captured-pool", timeout=60)
        crs.delete("managedimages", "hpc-captured")
        crs.wait_deleted("managedimages", "hpc-captured", timeout=60)
    assert [p.name for p in batch.pool.list_by_batch_account("rg-batch", "batchdemo")] == []
    assert [i.name for i in compute.images.list_by_resource_group("rg-batch-images")] == []
    log = azure_requests(azuresim.admin_url, azuresim.ca_bundle)
    assert azure_admin(azuresim, "GET", "/throttling")["throttled"] == {}
    assert not [e for e in log if e["status"] == 429]
    early = _polls_sooner_than_retry_after(log)
    assert early == [], "\n".join(early)
    # The version's LRO asked for a poll every 3 s (60 s in Azure): it was followed.
    version_lro = [e for e in log if e["method"] == "PUT" and "/versions/" in e["path"]]
    assert version_lro and version_lro[0]["retryAfter"] == "3"
