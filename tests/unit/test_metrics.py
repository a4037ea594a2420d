"""The metrics a user alerts on: per-object series come and go with the objects, label
values stay in bounded sets, and the exposition carries no `_created` noise."""

from __future__ import annotations

import tracemalloc
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from batch_image_operator.metrics import Metrics
from batch_image_operator.models.conditions import Condition
from batch_image_operator.reconcilers.outcome import Outcome


def samples(m: Metrics, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    out: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(m.exposition().decode()):
        for s in family.samples:
            if s.name == name:
                out[tuple(sorted(s.labels.items()))] = s.value
    return out


def pool(name: str = "p1", dedicated: int = 4, low: int = 2) -> dict[str, Any]:
    return {"metadata": {"namespace": "team-a", "name": name},
            "spec": {"scale": {"fixed": {"targetDedicatedNodes": dedicated,
                                         "targetLowPriorityNodes": low}}}}


def status(reason: str, ready: str = "False", **extra: Any) -> dict[str, Any]:
    return {"conditions": [{"type": "Ready", "status": ready, "reason": reason}], **extra}


def test_pool_gauges_follow_the_pool_and_go_with_it() -> None:
    m = Metrics()
    m.passed("u1", "BatchPool", pool(), status("Resizing", currentDedicatedNodes=1,
                                               resizeAttempts=2), Outcome())
    key = (("name", "p1"), ("namespace", "team-a"))
    assert samples(m, "batchimage_pool_current_nodes") == {
        (*key, ("priority", "dedicated")): 1.0, (*key, ("priority", "lowPriority")): 0.0}
    assert samples(m, "batchimage_pool_target_nodes") == {
        (*key, ("priority", "dedicated")): 4.0, (*key, ("priority", "lowPriority")): 2.0}
    assert samples(m, "batchimage_pool_resize_attempts") == {key: 2.0}

    m.object_ready("u1", "BatchPool", None)  # deleted
    for name in ("batchimage_pool_current_nodes", "batchimage_pool_target_nodes",
                 "batchimage_pool_resize_attempts"):
        assert samples(m, name) == {}, name
    assert set(samples(m, "batchimage_objects_by_reason").values()) == {0.0}


def test_autoscale_pools_have_no_target_series() -> None:
    m = Metrics()
    body = {"metadata": {"namespace": "ns", "name": "auto"},
            "spec": {"scale": {"autoScale": {"formula": "$TargetDedicatedNodes=1"}}}}
    m.passed("u1", "BatchPool", body, status("Steady", "True"), Outcome())
    assert samples(m, "batchimage_pool_target_nodes") == {}
    assert len(samples(m, "batchimage_pool_current_nodes")) == 2


def test_objects_by_reason_count_each_object_once() -> None:
    m = Metrics()
    m.passed("a", "BatchPool", pool("a"), status("ImageNotReady"), Outcome())
    m.passed("b", "BatchPool", pool("b"), status("ImageNotReady"), Outcome())
    m.passed("a", "BatchPool", pool("a"), status("Steady", "True"), Outcome())
    got = samples(m, "batchimage_objects_by_reason")
    assert got[(("kind", "BatchPool"), ("reason", "ImageNotReady"))] == 1.0
    assert got[(("kind", "BatchPool"), ("reason", "Steady"))] == 1.0


def test_a_reason_that_is_not_ours_never_becomes_a_label() -> None:
    m = Metrics()
    m.passed("a", "ManagedImage", {}, status("evil value/with spaces " * 5), Outcome())
    assert samples(m, "batchimage_objects_by_reason") == {
        (("kind", "ManagedImage"), ("reason", "Other")): 1.0}


def test_image_build_is_timed_from_the_put_to_ready() -> None:
    m = Metrics()
    m.passed("i", "ManagedImage", {}, status("Creating"), Outcome())
    m.passed("i", "ManagedImage", {}, status("Provisioning"), Outcome())
    assert samples(m, "batchimage_image_build_duration_seconds_count") == {}
    m.passed("i", "ManagedImage", {}, status("ImageReady", "True"), Outcome())
    m.passed("i", "ManagedImage", {}, status("ImageReady", "True"), Outcome())  # drift check
    assert samples(m, "batchimage_image_build_duration_seconds_count") == {
        (("result", "succeeded"),): 1.0}
    m.passed("j", "ManagedImage", {}, status("Updating"), Outcome())
    m.passed("j", "ManagedImage", {}, status("ProvisioningFailed"), Outcome())
    assert samples(m, "batchimage_image_build_duration_seconds_count")[
        (("result", "failed"),)] == 1.0


def test_an_image_already_ready_at_startup_is_not_a_build() -> None:
    m = Metrics()
    m.passed("i", "ManagedImage", {}, status("ImageReady", "True"), Outcome())
    assert samples(m, "batchimage_image_build_duration_seconds_count") == {}


def test_resizes_are_counted_first_or_retry() -> None:
    m = Metrics()
    m.passed("p", "BatchPool", pool(), status("Resizing"),
             Outcome(status={"resizeAttempts": 1}))
    m.passed("p", "BatchPool", pool(), status("Resizing"),
             Outcome(status={"resizeAttempts": 2}, next_resize_in=30.0,
                     conditions=[Condition("Ready", "False", "Resizing")]))
    m.passed("p", "BatchPool", pool(), status("Resizing"), Outcome())  # no resize issued
    assert samples(m, "batchimage_pool_resizes_total") == {
        (("attempt", "first"),): 1.0, (("attempt", "retry"),): 1.0}


def test_exposition_has_build_info_runtime_collectors_and_no_created_series() -> None:
    m = Metrics()
    m.reconciled("BatchPool", "ready", 0.1)
    m.azure_request("pools.get", 200, 0.05)
    text = m.exposition().decode()
    assert "_created" not in text
    names = {f.name for f in text_string_to_metric_families(text)}
    assert {"batchimage_build_info", "process_resident_memory_bytes", "process_cpu_seconds",
            "python_info", "python_gc_collections"} <= names
    assert samples(m, "batchimage_azure_request_duration_seconds_count") == {
        (("operation", "pools.get"),): 1.0}


def test_throttling_is_counted_by_operation() -> None:
    m = Metrics()
    m.azure_request("pools.get", 429, 0.01)
    m.azure_request("pools.get", 200, 0.01)
    assert samples(m, "batchimage_azure_throttled_total") == {
        (("operation", "pools.get"),): 1.0}


def test_per_pool_series_stay_small_at_thousands_of_pools() -> None:
    """One replica holds 5,000 pools within 400 MB: their five series may not cost more
    than a kilobyte a pool (prometheus_client's labelled gauges took 3.8 KB)."""
    m = Metrics()
    bodies = [pool(f"pool-{i:04d}") for i in range(2000)]
    done = status("Steady", "True", currentDedicatedNodes=4, currentLowPriorityNodes=2)
    m.passed("warm-up", "BatchPool", pool("warm-up"), done, Outcome())
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i, body in enumerate(bodies):
            m.passed(f"uid-{i}", "BatchPool", body, done, Outcome())
        per_pool = (tracemalloc.get_traced_memory()[0] - before) / len(bodies)
    finally:
        tracemalloc.stop()
    assert per_pool < 1024, f"{per_pool:.0f} bytes of metrics per pool"
    assert len(samples(m, "batchimage_pool_current_nodes")) == 2 * (len(bodies) + 1)
