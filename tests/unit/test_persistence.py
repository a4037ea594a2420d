"""Kopf's bookkeeping kept in memory: what counts as a change, and what is written."""

from __future__ import annotations

import json
import tracemalloc

import kopf

from batch_image_operator.runner.persistence import (
    MemoryDiffBaseStorage,
    MemoryProgressStorage,
)


def body(annotations: dict[str, str] | None = None, spec: dict | None = None,
         status: dict | None = None, deleting: bool = False) -> kopf.Body:
    meta: dict = {"name": "p", "namespace": "default", "uid": "u1", "generation": 3,
                  "resourceVersion": "17", "annotations": annotations or {},
                  "labels": {"team": "render"}}
    if deleting:
        meta["deletionTimestamp"] = "2026-11-26T00:00:00Z"
    return kopf.Body({"apiVersion": "batchimage.dev/v1alpha1", "kind": "BatchPool",
                      "metadata": meta, "spec": spec or {"vmSize": "a"},
                      "status": status or {}})


def test_the_essence_is_the_spec_labels_and_the_users_annotations() -> None:
    storage = MemoryDiffBaseStorage()
    essence = storage.build(body=body(
        annotations={"batchimage.dev/paused": "true", "team/owner": "x",
                     "batchimage.dev/kopf-managed": "yes",
                     "batchimage.dev/touch-dummy": "2026",
                     "kubectl.kubernetes.io/last-applied-configuration": "{}"},
        status={"conditions": [{"type": "Ready"}]}))
    assert essence == {"spec": {"vmSize": "a"}, "metadata": {
        "labels": {"team": "render"},
        "annotations": {"batchimage.dev/paused": "true", "team/owner": "x"}}}


def test_status_and_bookkeeping_changes_are_not_changes() -> None:
    storage = MemoryDiffBaseStorage()
    before = storage.build(body=body())
    after = storage.build(body=body(annotations={"batchimage.dev/touch-dummy": "now"},
                                    status={"poolId": "p"}))
    assert before == after
    assert storage.build(body=body(annotations={"batchimage.dev/paused": "true"})) != before


def test_the_essence_does_not_share_the_bodys_spec() -> None:
    raw = body(spec={"scale": {"fixed": {"targetDedicatedNodes": 1}}})
    essence = MemoryDiffBaseStorage().build(body=raw)
    essence["spec"]["scale"]["fixed"]["targetDedicatedNodes"] = 9  # type: ignore[index]
    assert raw["spec"]["scale"]["fixed"]["targetDedicatedNodes"] == 1


def test_another_kopf_operators_bookkeeping_is_ignored() -> None:
    essence = MemoryDiffBaseStorage().build(body=body(annotations={
        "other.example/kopf-managed": "yes", "other.example/last-handled-configuration": "{}",
        "other.example/owner": "x"}))
    assert "annotations" not in essence.get("metadata", {})


def test_stored_essences_are_per_object_and_writes_nothing() -> None:
    storage = MemoryDiffBaseStorage()
    patch = kopf.Patch()
    assert storage.fetch(body=body()) is None
    storage.store(body=body(), patch=patch, essence=storage.build(body=body()))
    assert not patch
    assert storage.fetch(body=body()) == {"spec": {"vmSize": "a"},
                                          "metadata": {"labels": {"team": "render"}}}


def test_a_deleted_object_leaves_nothing_behind() -> None:
    storage = MemoryDiffBaseStorage()
    storage.store(body=body(), patch=kopf.Patch(), essence=storage.build(body=body()))
    assert storage.fetch(body=body(deleting=True)) is not None  # Kopf decides on deletion
    assert len(storage) == 0
    storage.store(body=body(deleting=True), patch=kopf.Patch(),
                  essence=storage.build(body=body()))
    assert len(storage) == 0


def test_progress_is_kept_in_memory_and_purged() -> None:
    storage = MemoryProgressStorage(prefix="batchimage.dev")
    patch = kopf.Patch()
    record: kopf.ProgressRecord = {"started": "2026-11-26T00:00:00", "retries": 1}
    storage.store(key="reconcile_batchpool", record=record, body=body(), patch=patch)
    assert not patch  # no annotation, no marker: no PATCH and no watch event
    assert storage.fetch(key="reconcile_batchpool", body=body()) == record
    storage.purge(key="reconcile_batchpool", body=body(), patch=patch)
    assert storage.fetch(key="reconcile_batchpool", body=body()) is None
    assert len(storage) == 0 and not patch


def test_a_delayed_retry_still_touches_the_object() -> None:
    """Kopf wakes a delayed handler (a deletion waiting on Azure) by patching a dummy
    annotation and waiting for its event: that one write has to reach the API server."""
    patch = kopf.Patch()
    MemoryProgressStorage(prefix="batchimage.dev").touch(body=body(), patch=patch,
                                                         value="2026-11-26T00:00:01")
    assert patch["metadata"]["annotations"]["batchimage.dev/touch-dummy"] == \
        "2026-11-26T00:00:01"


def test_forgetting_an_object_drops_its_progress() -> None:
    storage = MemoryProgressStorage(prefix="batchimage.dev")
    storage.store(key="delete_batchpool", record={"retries": 2}, body=body(),
                  patch=kopf.Patch())
    storage.forget("u1")
    assert storage.fetch(key="delete_batchpool", body=body()) is None


def test_thousands_of_stored_essences_stay_small() -> None:
    """Kopf's essence of every object is held for the process's life: at 5,000 pools
    each may not cost more than its text (a parsed copy was four times that)."""
    storage = MemoryDiffBaseStorage()
    spec = {"account": {"resourceGroup": "rg-batch", "name": "batchdemo"},
            "vmSize": "Standard_D2s_v3", "nodeAgentSkuId": "batch.node.ubuntu 22.04",
            "image": {"managedImageRef": {"name": "bench-img-001"}},
            "scale": {"fixed": {"targetDedicatedNodes": 1, "resizeTimeout": "PT20M"}}}
    bodies = []
    for i in range(2000):
        raw = body(spec=json.loads(json.dumps(spec)))
        raw["metadata"]["uid"] = f"uid-{i}"
        bodies.append(raw)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for raw in bodies:
            storage.store(body=raw, patch=kopf.Patch(), essence=storage.build(body=raw))
        per_object = (tracemalloc.get_traced_memory()[0] - before) / len(bodies)
    finally:
        tracemalloc.stop()
    assert per_object < 700, f"{per_object:.0f} bytes per stored essence"
    assert storage.fetch(body=bodies[7]) == storage.build(body=bodies[7])
