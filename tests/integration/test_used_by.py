"""An image's `usedBy` while pools keep joining it: a few coalesced writes, not one per
pool, and the deletion guard still counts every pool the moment it exists."""

from __future__ import annotations

import copy
import time

import requests

from helpers.system import CRs, StartOperator, condition, has_condition, load_example
from simlaunch import Emulator

IMAGE = "ubuntu-hpc"


def manifests() -> tuple[dict, dict]:
    docs = {d["kind"]: d for d in load_example("snapshots")}
    return copy.deepcopy(docs["ManagedImage"]), copy.deepcopy(docs["BatchPool"])


def pool_named(pool: dict, name: str) -> dict:
    other = copy.deepcopy(pool)
    other["metadata"] = {"name": name}
    other["spec"]["scale"]["fixed"]["targetDedicatedNodes"] = 1
    return other


def image_patches(kubesim: Emulator) -> int:
    """Status PATCHes of ManagedImages since the counters were reset (only one here)."""
    reply = requests.get(f"{kubesim.url}/_kubesim/counters", timeout=30)
    reply.raise_for_status()
    return int(reply.json()["counters"].get("patch managedimages.batchimage.dev", 0))


def test_pools_joining_one_by_one_cost_the_image_a_few_writes(
        start_operator: StartOperator, kubesim: Emulator, crs: CRs) -> None:
    image, pool = manifests()
    names = [f"joiner-{i:02d}" for i in range(20)]
    with start_operator(BIO_POLL_INTERVAL="0.2"):
        crs.create(image)
        crs.wait("managedimages", IMAGE, lambda o: has_condition("Ready")(o)
                 and o["status"].get("usedBy") == [])
        requests.post(f"{kubesim.url}/_kubesim/reset", timeout=30).raise_for_status()
        for name in names:
            crs.create(pool_named(pool, name))
            time.sleep(0.4)  # a stream, not a wait: one pool joins every 0.4 s
        # Before: one PATCH per pool (20; the image looks every 0.2 s). Now about log2
        # of the stream's length.
        written = image_patches(kubesim)
        assert written <= 7, written
        # `usedBy` may still be behind, but the guard does not read it: deleting now is
        # refused naming every pool.
        crs.delete("managedimages", IMAGE)
        blocked = crs.wait("managedimages", IMAGE, has_condition("DeletionBlocked"))
        assert all(name in condition(blocked, "DeletionBlocked")["message"]
                   for name in names)
        shown = crs.wait("managedimages", IMAGE,
                         lambda o: o["status"].get("usedBy") == names, timeout=90)
        assert shown["metadata"]["deletionTimestamp"]
