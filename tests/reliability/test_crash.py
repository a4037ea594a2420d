"""Crash safety: ``kill -9`` the operator subprocess at a random point of the create, resize
and delete flows, restart it, and check every run converges with no duplicate or orphaned
Azure resource and no image deleted while a pool used it.

The kill moment is "right after the k-th Azure request azuresim logged since the flow
began", k drawn from a seeded RNG. Every assertion message names the seed and the kill
points, so a failure replays with ``BIO_CRASH_SEED_LIST=<seed>``. Three seeds by default;
``BIO_CRASH_SEEDS=N`` runs seeds 0..N-1.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from helpers.reliability import OperatorProcess, azure_only, example, inventory
from helpers.system import CRs, azure_requests, azure_sdk, has_condition
from helpers.waits import eventually
from simlaunch import Emulator

SEEDS = ([int(s) for s in os.environ["BIO_CRASH_SEED_LIST"].split(",")]
         if os.environ.get("BIO_CRASH_SEED_LIST")
         else list(range(int(os.environ.get("BIO_CRASH_SEEDS", "0")))) or [11, 22, 33])
SEEDED_SNAPSHOTS = ["ubuntu-hpc-data0", "ubuntu-hpc-os"]


@contextlib.contextmanager
def replayable(what: Callable[[], str]) -> Iterator[None]:
    """Any failure inside names the seed and kill points it needs to be replayed."""
    try:
        yield
    except Exception as exc:
        raise AssertionError(f"[{what()}] {type(exc).__name__}: {exc}") from exc


def kill_after(op: OperatorProcess, azure: Emulator, k: int, done: Callable[[], bool]) -> int:
    """SIGKILL the operator once azuresim has logged k ARM/Batch requests (or the flow is
    already over); returns how many requests it had seen."""
    seen = eventually(lambda: (len(azure_only(azure_requests(azure.admin_url,
                                                             azure.ca_bundle))), done()),
                      lambda v: v[0] >= k or v[1], timeout=60)
    op.kill9()
    return int(seen[0])


def ok_ready(crs: CRs, plural: str, name: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return has_condition("Ready")(crs.get(plural, name))
        except Exception:
            return False
    return check


def gone(crs: CRs, plural: str, name: str) -> bool:
    items = crs.api.list_namespaced_custom_object("batchimage.dev", "v1alpha1", crs.namespace,
                                                  plural, field_selector=f"metadata.name={name}")
    return not items["items"]


@pytest.mark.parametrize("seed", SEEDS)
def test_kill9_during_create_resize_delete_converges(seed: int, tmp_path: Path,
                                                     kubesim: Emulator, azuresim: Emulator,
                                                     crs: CRs) -> None:
    rng = random.Random(seed)
    kills: list[str] = []
    image, pool = example()
    pool["spec"]["scale"]["fixed"]["targetDedicatedNodes"] = 2
    compute, batch = azure_sdk(azuresim.env)
    admin, ca = azuresim.admin_url, azuresim.ca_bundle
    op = OperatorProcess(tmp_path / "operator", kubesim, azuresim)
    (tmp_path / "operator").mkdir()

    def ctx() -> str:
        return f"seed={seed} kills={kills}; replay: BIO_CRASH_SEED_LIST={seed}"

    try:
        with replayable(ctx):
            # --- create: image build (LRO) and pool creation ------------------------------
            azure_requests(admin, ca, reset=True)
            op.start()
            crs.create(image)
            crs.create(pool)
            k = rng.randint(1, 9)
            seen = kill_after(op, azuresim, k, ok_ready(crs, "batchpools", "render-pool"))
            kills.append(f"create@{k}(saw {seen})")
            op.start()
            crs.wait("managedimages", "ubuntu-hpc", has_condition("Ready"), timeout=60)
            ready = crs.wait("batchpools", "render-pool", has_condition("Ready"), timeout=60)
            assert ready["status"]["currentDedicatedNodes"] == 2
            counters = azure_requests_counters(azuresim)
            assert counters.get("images.create") == 1, counters   # no second image PUT
            assert counters.get("pools.create") == 1, counters    # no second pool PUT
            assert inventory(azuresim.env) == {
                "images": ["ubuntu-hpc"], "snapshots": SEEDED_SNAPSHOTS,
                "pools": ["render-pool"], "galleryVersions": []}

            # --- resize: 2 -> 3 nodes -------------------------------------------------------
            azure_requests(admin, ca, reset=True)
            crs.patch("batchpools", "render-pool",
                      {"spec": {"scale": {"fixed": {"targetDedicatedNodes": 3}}}})
            k = rng.randint(1, 4)
            seen = kill_after(op, azuresim, k, lambda: _at(crs, 3))
            kills.append(f"resize@{k}(saw {seen})")
            op.start()
            crs.wait("batchpools", "render-pool",
                     lambda o: has_condition("Ready")(o)
                     and o["status"].get("currentDedicatedNodes") == 3, timeout=60)
            azure_pool = batch.pool.get("rg-batch", "batchdemo", "render-pool")
            assert azure_pool.scale_settings.fixed_scale.target_dedicated_nodes == 3
            log = azure_requests(admin, ca)
            assert not [e for e in log if e["operation"] in ("pools.create", "images.create")], \
                "the resize re-created a resource"
            assert len([e for e in log if e["operation"] == "pools.update"]) <= 2, log

            # --- delete: image first (blocked by the pool), then the pool -------------------
            azure_requests(admin, ca, reset=True)
            crs.delete("managedimages", "ubuntu-hpc")
            crs.delete("batchpools", "render-pool")
            k = rng.randint(1, 6)
            seen = kill_after(op, azuresim, k, lambda: gone(crs, "managedimages", "ubuntu-hpc"))
            kills.append(f"delete@{k}(saw {seen})")
            op.start()
            crs.wait_deleted("batchpools", "render-pool", timeout=60)
            crs.wait_deleted("managedimages", "ubuntu-hpc", timeout=60)
            assert inventory(azuresim.env) == {
                "images": [], "snapshots": SEEDED_SNAPSHOTS, "pools": [], "galleryVersions": []}
            assert_image_deleted_only_after_pool_gone(azure_requests(admin, ca))
            assert compute.snapshots.get("rg-batch-images", "ubuntu-hpc-os")  # sources kept
    finally:
        op.stop()


def azure_requests_counters(azure: Emulator) -> dict[str, int]:
    import requests
    reply = requests.get(f"{azure.admin_url}/requests", verify=azure.ca_bundle, timeout=10)
    reply.raise_for_status()
    return dict(reply.json()["counters"])


def _at(crs: CRs, nodes: int) -> bool:
    obj = crs.get("batchpools", "render-pool")
    return has_condition("Ready")(obj) and obj["status"].get("currentDedicatedNodes") == nodes


def assert_image_deleted_only_after_pool_gone(log: list[dict]) -> None:
    """In azuresim's order of requests: pool DELETE, then a GET that finds it gone, and
    only then the image DELETE."""
    ops = [(e["operation"], e["status"]) for e in log]
    image_deletes = [i for i, (op, status) in enumerate(ops)
                     if op == "images.delete" and status < 300]
    assert image_deletes, f"the image was never deleted: {ops}"
    first = image_deletes[0]
    pool_deleted = [i for i, (op, status) in enumerate(ops)
                    if op == "pools.delete" and status < 300]
    assert pool_deleted and pool_deleted[0] < first, ops
    assert any(op == "pools.get" and status == 404
               for op, status in ops[pool_deleted[0]:first]), (
        f"image deleted before Azure reported the pool gone: {ops}")
