"""What the process remembers per object is kept small: the status it last wrote, for
every object, is most of the operator's memory per pool after its own (Kopf's) copy."""

from __future__ import annotations

import copy
import json
import tracemalloc
from typing import Any

from batch_image_operator.runner.memory import ObjectMemory

COUNTS = ["creating", "idle", "offline", "preempted", "rebooting", "reimaging", "running",
          "starting", "startTaskFailed", "leavingPool", "unknown", "unusable",
          "waitingForStartTask", "deallocated", "deallocating", "upgradingOS", "total"]


def ready_pool_status(i: int) -> dict[str, Any]:
    image = ("/subscriptions/3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8/resourceGroups/rg-batch-images"
             f"/providers/Microsoft.Compute/images/bench-{i % 50:03d}")
    conditions = [{"type": t, "status": "True", "reason": r, "message": m,
                   "lastTransitionTime": "2026-12-02T10:00:00Z", "observedGeneration": 1}
                  for t, r, m in (("ImageResolved", "ImageReady", image),
                                  ("Ready", "Steady", "pool is steady at target"),
                                  ("Scaled", "AtTarget", "pool is steady at target"),
                                  ("WithinLimits", "WithinLimits", "admitted for 4 dedicated"
                                   " / 0 low-priority nodes; the custom-image limit of 2500"
                                   " dedicated / 1000 low-priority nodes counts every pool"
                                   " of this image lineage"))]
    return {"observedGeneration": 1, "poolId": f"pool-{i}", "allocationState": "Steady",
            "currentDedicatedNodes": 4, "currentLowPriorityNodes": 0, "imageId": image,
            "provisioningState": "Succeeded", "conditions": conditions,
            "nodeCounts": dict.fromkeys(COUNTS, 0) | {"idle": 4, "total": 4},
            "admittedNodes": {"dedicated": 4, "lowPriority": 0}}


def test_a_remembered_status_costs_little_memory_and_reads_back_whole() -> None:
    memory = ObjectMemory()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(500):
            # Fresh strings, as parsed from the API server's JSON.
            memory.remember_status(f"uid-{i}", json.loads(json.dumps(ready_pool_status(i))))
        per_status = (tracemalloc.get_traced_memory()[0] - before) / 500
    finally:
        tracemalloc.stop()
    # Kept as the dicts it was written from: 5.7 KB a pool (21 MB at 5,000 pools).
    assert per_status < 2500, per_status
    got = memory.status_of("uid-7", {"status": {"stale": True}})
    assert got == ready_pool_status(7)
    got["conditions"][0]["status"] = "False"  # a caller's copy: the memory is unchanged
    assert memory.status_of("uid-7", {}) == ready_pool_status(7)
    assert memory.status_of("unknown", {"status": {"from": "body"}}) == {"from": "body"}


def test_waiting_for_image_reads_the_remembered_condition() -> None:
    memory = ObjectMemory()
    assert not memory.waiting_for_image("uid")
    waiting = copy.deepcopy(ready_pool_status(0))
    waiting["conditions"][0].update(status="False", reason="ImageNotReady")
    memory.remember_status("uid", waiting)
    assert memory.waiting_for_image("uid")
    memory.remember_status("uid", ready_pool_status(0))
    assert not memory.waiting_for_image("uid")
    memory.forget("uid")
    assert memory.status_of("uid", {}) == {}
