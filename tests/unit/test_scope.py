"""The policy gate: every id a pass may touch, computed from the spec (pure)."""

from __future__ import annotations

import pytest

from batch_image_operator.azure.scoped import OutOfScope, ScopedCompute, ScopedPools
from batch_image_operator.models.allowlist import AllowList
from batch_image_operator.models.armid import parse_resource_id
from batch_image_operator.models.batchpool import parse_batch_pool
from batch_image_operator.models.managedimage import parse_managed_image
from batch_image_operator.planning.scope import gate, image_scope, pool_scope

SUB = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"
P = f"/subscriptions/{SUB}/resourceGroups"
ALLOW = AllowList.parse({"*": [f"{P}/rg-images", f"{P}/rg-batch"]})


def image(**source):
    spec = {"resourceGroup": "rg-images", "location": "westeurope", "source": source or {
        "snapshots": {"osDisk": {"snapshotId": f"{P}/rg-images/providers/Microsoft.Compute/"
                                               "snapshots/os", "osType": "Linux"}}}}
    return spec


def pool(**extra):
    spec = {"account": {"resourceGroup": "rg-batch", "name": "acct"}, "vmSize": "STANDARD_D2",
            "nodeAgentSkuId": "batch.node.ubuntu 22.04",
            "image": {"marketplace": {"publisher": "p", "offer": "o", "sku": "s"}},
            "scale": {"fixed": {"targetDedicatedNodes": 1}}}
    return parse_batch_pool("p", {**spec, **extra}, default_subscription=SUB)


def test_every_snapshot_is_checked_not_only_the_first() -> None:
    src = {"snapshots": {"osDisk": {"snapshotId": f"{P}/rg-images/providers/Microsoft.Compute/"
                                                  "snapshots/os", "osType": "Linux"},
                         "dataDisks": [{"lun": 0, "snapshotId": f"{P}/rg-forbidden/providers/"
                                        "Microsoft.Compute/snapshots/data"}]}}
    spec = parse_managed_image("img", image(**src), default_subscription=SUB)
    denied = gate("ns", image_scope(spec, []), ALLOW)
    assert [d.resource_group for d in denied] == ["rg-forbidden"]


def test_the_gallery_of_an_image_is_in_its_scope() -> None:
    raw = {**image(), "gallery": {"resourceGroup": "rg-forbidden", "galleryName": "g",
                                  "imageDefinition": "d", "version": "1.0.0"}}
    spec = parse_managed_image("img", raw, default_subscription=SUB)
    assert {d.resource_group for d in gate("ns", image_scope(spec, []), ALLOW)} == \
        {"rg-forbidden"}


def test_a_vhd_storage_account_is_in_scope() -> None:
    src = {"vhd": {"blobUri": "https://evil.blob.core.windows.net/c/x.vhd", "osType": "Linux",
                   "storageAccountId": f"{P}/rg-forbidden/providers/Microsoft.Storage/"
                                       "storageAccounts/evil"}}
    spec = parse_managed_image("img", image(**src), default_subscription=SUB)
    assert [d.name for d in gate("ns", image_scope(spec, []), ALLOW)] == ["evil"]


def test_a_subnet_and_an_image_id_are_in_a_pools_scope() -> None:
    spec = pool(network={"subnetId": f"{P}/rg-net/providers/Microsoft.Network/virtualNetworks/"
                                     "v/subnets/s"})
    image = parse_resource_id(f"{P}/rg-other/providers/Microsoft.Compute/images/i")
    assert {d.resource_group for d in gate("ns", pool_scope(spec, image), ALLOW)} == \
        {"rg-net", "rg-other"}
    assert gate("ns", pool_scope(pool(), None), ALLOW) == []


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def get(self, rid):
        self.calls.append(f"get {rid}")

    async def begin_delete(self, rid):
        self.calls.append(f"delete {rid}")

    async def begin_put(self, rid, body):
        self.calls.append(f"put {rid}")


async def test_scoped_gateways_refuse_ids_the_gate_never_saw() -> None:
    spec = parse_managed_image("img", image(), default_subscription=SUB)
    inner = Recorder()
    compute = ScopedCompute(inner, image_scope(spec, []))  # type: ignore[arg-type]
    await compute.get(spec.image_id)
    await compute.begin_delete(spec.image_id)
    os_snapshot = spec.snapshots.os_source  # read, never written or deleted
    await compute.get(os_snapshot)
    for call in (compute.begin_delete(os_snapshot), compute.begin_put(os_snapshot, {}),
                 compute.get(parse_resource_id(f"{P}/rg-images/providers/Microsoft.Compute/"
                                               "images/someone-elses"))):
        with pytest.raises(OutOfScope):
            await call
    assert len(inner.calls) == 3
    pools = ScopedPools(inner, image_scope(spec, []))  # type: ignore[arg-type]
    with pytest.raises(OutOfScope):
        await pools.begin_delete(pool().resource_id)
