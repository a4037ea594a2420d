"""The guide's resize traps: big custom-image pools need several resizes, and a deleted
image makes resizes fail with AllocationFailed until the image is back."""

from __future__ import annotations

import copy
from collections.abc import Callable

from helpers.system import (
    CRs,
    azure_admin,
    azure_requests,
    azure_sdk,
    condition,
    has_condition,
    load_example,
    running_operator,
)
from helpers.waits import eventually
from simlaunch import Emulator


def example(dedicated: int) -> tuple[dict, dict]:
    docs = {d["kind"]: d for d in load_example("snapshots")}
    image, pool = copy.deepcopy(docs["ManagedImage"]), copy.deepcopy(docs["BatchPool"])
    pool["spec"]["scale"]["fixed"]["targetDedicatedNodes"] = dedicated
    return image, pool


def test_short_resizes_are_reissued_until_the_target(kubesim: Emulator, azuresim: Emulator,
                                                     crs: CRs) -> None:
    azure_admin(azuresim, "POST", "/speed", {"customImageResizeCap": 5})
    image, pool = example(12)
    with running_operator(kubesim.url, azuresim.env, BIO_RESIZE_BACKOFF="0.2"):
        crs.create(image)
        crs.create(pool)
        ready = crs.wait("batchpools", "render-pool", has_condition("Ready"))
    assert ready["status"]["currentDedicatedNodes"] == 12
    assert ready["status"]["resizeAttempts"] == 3  # 5 + 5 + 2 nodes
    resizes = [e for e in crs.events("render-pool") if e["reason"] == "Resizing"]
    assert len(resizes) == 2
    assert any("attempt 3 of 10" in e["message"] for e in resizes)


def test_resize_attempts_are_bounded(kubesim: Emulator, azuresim: Emulator, crs: CRs) -> None:
    azure_admin(azuresim, "POST", "/speed", {"customImageResizeCap": 2})
    image, pool = example(12)
    with running_operator(kubesim.url, azuresim.env, BIO_RESIZE_BACKOFF="0.1",
                          BIO_MAX_RESIZE_ATTEMPTS="3"):
        crs.create(image)
        crs.create(pool)
        stuck = crs.wait("batchpools", "render-pool",
                         has_condition("Ready", "False", "ResizeAttemptsExhausted"))
    assert stuck["status"]["currentDedicatedNodes"] == 6
    assert stuck["status"]["resizeAttempts"] == 3
    assert stuck["status"]["resizeErrors"]


def test_deleted_image_is_diagnosed_rebuilt_and_the_resize_succeeds(
        kubesim: Emulator, azuresim: Emulator, crs: CRs) -> None:
    image, pool = example(2)
    compute, _ = azure_sdk(azuresim.env)
    with running_operator(kubesim.url, azuresim.env, BIO_RESIZE_BACKOFF="0.2"):
        crs.create(image)
        crs.create(pool)
        crs.wait("batchpools", "render-pool", has_condition("Ready"))
        # Someone deletes the image behind the operator's back, then the pool grows.
        compute.images.begin_delete("rg-batch-images", "ubuntu-hpc").result()
        crs.patch("batchpools", "render-pool",
                  {"spec": {"scale": {"fixed": {"targetDedicatedNodes": 5}}}})
        missing = crs.wait("batchpools", "render-pool",
                           has_condition("Ready", "False", "ImageMissing"))
        message = condition(missing, "Ready")["message"]
        assert "AllocationFailed" in message and "no longer exists" in message
        assert crs.wait_event("render-pool", "ImageMissing")["type"] == "Warning"
        # The ManagedImage rebuilds the image from its snapshots; the pool then grows.
        ready = crs.wait("batchpools", "render-pool",
                         lambda o: has_condition("Ready")(o)
                         and o["status"]["currentDedicatedNodes"] == 5)
    assert not ready["status"]["resizeErrors"]
    assert compute.images.get("rg-batch-images", "ubuntu-hpc").provisioning_state == "Succeeded"


def _pool_writes(azuresim: Emulator) -> list[dict]:
    return [e for e in azure_requests(azuresim.admin_url, azuresim.ca_bundle)
            if e["method"] in {"PUT", "PATCH", "POST"} and "/pools/" in e["path"]]


def _stop_while_resizing(crs: CRs, azuresim: Emulator, start: Callable[[], object]) -> dict:
    """``start`` a resize (slowed down), then stop it as a person would (portal,
    `az batch pool stop-resize`); returns the pool once the operator shows the stop."""
    azure_admin(azuresim, "POST", "/speed", {"allocationSeconds": 60})
    start()
    crs.wait("batchpools", "render-pool", lambda o: (o.get("status") or {}).get(
        "allocationState") == "Resizing")
    _, batch = azure_sdk(azuresim.env)
    batch.pool.stop_resize("rg-batch", "batchdemo", "render-pool")
    azure_admin(azuresim, "POST", "/speed", {"allocationSeconds": 0.5})
    return crs.wait("batchpools", "render-pool", has_condition("Ready", "False", "ResizeStopped"))


def test_a_stopped_resize_is_left_as_the_person_left_it(kubesim: Emulator, azuresim: Emulator,
                                                        crs: CRs) -> None:
    image, pool = example(12)
    with running_operator(kubesim.url, azuresim.env, BIO_RESIZE_BACKOFF="0.1",
                          BIO_DRIFT_INTERVAL="0.3"):
        crs.create(image)
        stopped = _stop_while_resizing(crs, azuresim, lambda: crs.create(pool))
        assert condition(stopped, "Scaled")["reason"] == "ResizeStopped"
        assert stopped["status"]["resizeErrors"][0]["code"] == "ResizeStopped"
        left_at = stopped["status"]["currentDedicatedNodes"]
        assert left_at < 12
        # Passes keep coming (a drift read every 0.3 s), and none writes to the pool.
        azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
        eventually(lambda: azure_requests(azuresim.admin_url, azuresim.ca_bundle),
                   lambda log: sum(e["operation"] == "pools.get" for e in log) >= 5)
        assert _pool_writes(azuresim) == []
        # A spec edit (a new generation) is the person asking again: the pool resizes.
        crs.patch("batchpools", "render-pool", {"spec": {"displayName": "render, resumed"}})
        ready = crs.wait("batchpools", "render-pool", has_condition("Ready"))
    assert ready["status"]["currentDedicatedNodes"] == 12
    assert "resizeStoppedGeneration" not in ready["status"]


def test_a_stopped_resize_resumes_when_the_resize_again_annotation_asks(
        kubesim: Emulator, azuresim: Emulator, crs: CRs) -> None:
    image, pool = example(12)
    with running_operator(kubesim.url, azuresim.env, BIO_RESIZE_BACKOFF="0.1",
                          BIO_DRIFT_INTERVAL="0.3"):
        crs.create(image)
        stopped = _stop_while_resizing(crs, azuresim, lambda: crs.create(pool))
        assert "batchimage.dev/resize-again" in condition(stopped, "Ready")["message"]
        generation = stopped["metadata"]["generation"]
        # The person asks again without touching the spec (no new generation).
        crs.patch("batchpools", "render-pool", {"metadata": {"annotations": {
            "batchimage.dev/resize-again": "2026-12-02T23:55:00Z"}}})
        ready = crs.wait("batchpools", "render-pool", has_condition("Ready"))
        assert ready["metadata"]["generation"] == generation
        assert ready["status"]["currentDedicatedNodes"] == 12
        # Stopped once more: the same annotation value is not a new request.
        _stop_while_resizing(crs, azuresim, lambda: crs.patch(
            "batchpools", "render-pool",
            {"spec": {"scale": {"fixed": {"targetDedicatedNodes": 20}}}}))
        azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
        eventually(lambda: azure_requests(azuresim.admin_url, azuresim.ca_bundle),
                   lambda log: sum(e["operation"] == "pools.get" for e in log) >= 5)
        assert _pool_writes(azuresim) == []
