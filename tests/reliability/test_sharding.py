"""Sharding by namespace: two operator releases, each with its own namespaces
(`watchNamespaces` -> BIO_NAMESPACES) and its own Lease, never handle each other's
objects — in Kubernetes (what each one logs and writes) or in Azure (who sent each
write)."""

from __future__ import annotations

import copy
from pathlib import Path

from kubernetes import client as k8s

from helpers.ha import Candidate, leads, writes_by
from helpers.reliability import example
from helpers.system import CRs, azure_requests, has_condition
from simlaunch import Emulator

SHARDS = ("shard-a", "shard-b")


def test_disjoint_namespace_shards_never_handle_the_same_object(
        tmp_path: Path, kubesim: Emulator, azuresim: Emulator, crs: CRs) -> None:
    api = crs.api.api_client
    core = k8s.CoreV1Api(api)
    for ns in SHARDS:
        core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=ns)))
    ops = {ns: Candidate(tmp_path / ns, kubesim, azuresim, lease=f"bio-{ns}",
                         BIO_NAMESPACES=ns) for ns in SHARDS}
    try:
        for op in ops.values():
            op.start()
        for ns, op in ops.items():
            leads(api, op, lease=f"bio-{ns}")   # each shard has its own leader
        azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
        image, pool = example()
        for ns in SHARDS:
            mine = CRs(api, namespace=ns)
            img, bp = copy.deepcopy(image), copy.deepcopy(pool)
            img["metadata"]["name"] = f"img-{ns}"
            bp["metadata"]["name"] = f"pool-{ns}"
            bp["spec"]["image"] = {"managedImageRef": {"name": f"img-{ns}"}}
            bp["spec"]["scale"]["fixed"]["targetDedicatedNodes"] = 1
            mine.create(img)
            mine.create(bp)
        for ns in SHARDS:
            CRs(api, namespace=ns).wait("batchpools", f"pool-{ns}",
                                            has_condition("Ready"), timeout=60)
        log = azure_requests(azuresim.admin_url, azuresim.ca_bundle)
        for ns, op in ops.items():
            other = next(o for o in SHARDS if o != ns)
            written = {e["path"].rsplit("/", 1)[-1] for e in writes_by(log, op.identity())}
            assert {f"img-{ns}", f"pool-{ns}"} <= written, written
            assert not {f"img-{other}", f"pool-{other}"} & written, written
            logs = op.logs()
            assert f"{ns}/pool-{ns}" in logs
            assert f"{other}/" not in logs, f"{ns}'s operator handled an object of {other}"
    finally:
        for op in ops.values():
            op.stop()


def test_a_namespace_moved_to_another_shard_is_taken_up_by_it_and_let_go_by_the_old(
        tmp_path: Path, kubesim: Emulator, azuresim: Emulator, crs: CRs) -> None:
    """Moving a namespace between releases (each `helm upgrade`d with its new
    `watchNamespaces`): the new owner takes its objects up from Kubernetes and Azure
    alone, with nothing created twice, and the old one no longer touches them."""
    api = crs.api.api_client
    core = k8s.CoreV1Api(api)
    for ns in ("shard-a", "moving", "shard-b"):
        core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=ns)))
    old = Candidate(tmp_path / "old", kubesim, azuresim, lease="bio-old",
                    BIO_NAMESPACES="shard-a,moving")
    new = Candidate(tmp_path / "new", kubesim, azuresim, lease="bio-new",
                    BIO_NAMESPACES="shard-b")
    moving = CRs(api, namespace="moving")
    try:
        old.start()
        new.start()
        leads(api, old, lease="bio-old")
        leads(api, new, lease="bio-new")
        image, pool = example()
        pool["spec"]["scale"]["fixed"]["targetDedicatedNodes"] = 1
        moving.create(image)
        created = moving.create(pool)
        name = created["metadata"]["name"]
        moving.wait("batchpools", name, has_condition("Ready"), timeout=60)

        # The old release first lets the namespace go, then the new one takes it.
        old.stop()
        old.env["BIO_NAMESPACES"] = "shard-a"
        old.start()
        leads(api, old, lease="bio-old")
        new.stop()
        new.env["BIO_NAMESPACES"] = "shard-b,moving"
        azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
        new.start()
        leads(api, new, lease="bio-new")
        moving.patch("batchpools", name, {"spec": {"scale": {"fixed": {
            "targetDedicatedNodes": 2}}}})
        moving.wait("batchpools", name, lambda o: has_condition("Ready")(o)
                    and o["status"].get("currentDedicatedNodes") == 2, timeout=60)

        log = azure_requests(azuresim.admin_url, azuresim.ca_bundle)
        assert writes_by(log, old.identity()) == []
        taken_up = writes_by(log, new.identity())
        assert taken_up, "the new owner made no write for the edit"
        # Resumed from Azure's state and its own owner mark: nothing created again.
        assert not [e for e in log if e["method"] == "PUT"], log
        assert f"moving/{name}" in (new.workdir / "operator-2.log").read_text()
        assert "moving/" not in (old.workdir / "operator-2.log").read_text()
    finally:
        old.stop()
        new.stop()
