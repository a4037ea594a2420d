import pytest

from batch_image_operator.models.batchpool import duration_seconds, parse_batch_pool
from batch_image_operator.models.errors import SpecInvalid
from batch_image_operator.models.managedimage import parse_managed_image

SUB = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"
SNAP = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/snapshots/"


def image_spec(**over):
    spec = {"resourceGroup": "rg", "location": "westeurope",
            "source": {"snapshots": {"osDisk": {"snapshotId": SNAP + "os", "osType": "Linux"},
                                     "dataDisks": [{"lun": 0, "snapshotId": SNAP + "d0"}]}}}
    spec.update(over)
    return spec


def pool_spec(**over):
    spec = {"account": {"resourceGroup": "rg", "name": "batchacct"}, "vmSize": "Standard_D2s_v3",
            "nodeAgentSkuId": "batch.node.ubuntu 22.04",
            "image": {"managedImageRef": {"name": "img"}},
            "scale": {"fixed": {"targetDedicatedNodes": 2}}}
    spec.update(over)
    return spec


def test_image_defaults_and_ids():
    spec = parse_managed_image("my-image", image_spec(), default_subscription=SUB)
    assert spec.image_name == "my-image"
    assert spec.subscription_id == SUB
    assert spec.snapshots is not None
    assert spec.snapshots.snapshot_ids() == (SNAP + "os", SNAP + "d0")
    assert str(spec.image_id).endswith("/providers/Microsoft.Compute/images/my-image")


def test_image_reports_every_problem_at_once():
    bad = image_spec(resourceGroup="bad/rg", hyperVGeneration="V9",
                     source={"snapshots": {"osDisk": {"snapshotId": "/etc/passwd"}}})
    with pytest.raises(SpecInvalid) as err:
        parse_managed_image("x", bad, default_subscription=SUB)
    fields = {e.field for e in err.value.errors}
    assert {"spec.resourceGroup", "spec.hyperVGeneration",
            "spec.source.snapshots.osDisk.snapshotId",
            "spec.source.snapshots.osDisk.osType"} <= fields


def test_image_source_must_be_exactly_one():
    with pytest.raises(SpecInvalid, match="exactly one"):
        parse_managed_image("x", image_spec(source={}), default_subscription=SUB)


def test_pool_defaults():
    spec = parse_batch_pool("pool-a", pool_spec(), default_subscription=SUB)
    assert spec.pool_id == "pool-a"
    assert spec.fixed is not None and spec.fixed.resize_timeout == "PT20M"
    assert spec.fixed.target_dedicated == 2 and spec.fixed.target_low_priority == 0
    assert spec.image.managed_image_ref == "img"


def test_pool_rejects_foreign_image_ids_and_both_scales():
    bad = pool_spec(image={"id": "/subscriptions/x/../../admin"},
                    scale={"fixed": {}, "autoScale": {"formula": "$x=1;"}})
    with pytest.raises(SpecInvalid) as err:
        parse_batch_pool("p", bad, default_subscription=SUB)
    fields = {e.field for e in err.value.errors}
    assert {"spec.image.id", "spec.scale"} <= fields


def test_durations():
    assert duration_seconds("PT20M") == 1200
    assert duration_seconds("PT15M00S") == 900
    assert duration_seconds("PT1H2M3S") == 3723
    assert duration_seconds("20m") is None
    assert duration_seconds("PT") is None
