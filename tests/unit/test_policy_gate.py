"""The policy gate's edges the mutation run found untested: captured snapshots, the Batch
accounts an image may read, and the gateways a pass receives (pure, with fakes)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from batch_image_operator.azure.scoped import OutOfScope, ScopedAccounts, ScopedCompute
from batch_image_operator.models.allowlist import AllowList
from batch_image_operator.models.armid import parse_resource_id
from batch_image_operator.models.managedimage import parse_managed_image
from batch_image_operator.planning.scope import (
    allowed_accounts,
    captured_snapshot_ids,
    image_scope,
)
from batch_image_operator.reconcilers.outcome import Outcome
from batch_image_operator.reconcilers.policy import Gated, gated, owner_of

SUB = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"
P = f"/subscriptions/{SUB}/resourceGroups"
ALLOW = AllowList.parse({"*": [f"{P}/rg-images", f"{P}/rg-batch"]})
SNAPSHOTS = f"{P}/rg-images/providers/Microsoft.Compute/snapshots"
OWN_ACCOUNT = parse_resource_id(f"{P}/rg-batch/providers/Microsoft.Batch/batchAccounts/acct")
FOREIGN_ACCOUNT = parse_resource_id(f"{P}/rg-forbidden/providers/Microsoft.Batch/"
                                    "batchAccounts/acct")


def vm_image(capture: str):
    # Built from JSON as the API server sends it: the capture mode is not an interned literal.
    raw = json.loads(json.dumps({
        "resourceGroup": "rg-images", "location": "westeurope",
        "source": {"virtualMachine": {
            "id": f"{P}/rg-images/providers/Microsoft.Compute/virtualMachines/vm",
            "capture": capture}}}))
    return parse_managed_image("img", raw, default_subscription=SUB)


def test_a_snapshot_capture_may_write_the_os_disk_and_every_lun_0_to_63_and_no_more() -> None:
    spec = vm_image("Snapshot")
    scope = image_scope(spec, [])
    names = [r.name for r in captured_snapshot_ids(spec)]
    assert names == ["img-os", *(f"img-lun{lun}" for lun in range(64))]
    for name in ("img-os", "img-lun0", "img-lun63"):
        rid = parse_resource_id(f"{SNAPSHOTS}/{name}")
        assert scope.may("write", rid) and scope.may("delete", rid), name
    assert not scope.may("write", parse_resource_id(f"{SNAPSHOTS}/img-lun64"))


def test_a_direct_capture_may_write_no_snapshot() -> None:
    spec = vm_image("Direct")
    assert captured_snapshot_ids(spec) == []
    assert not image_scope(spec, []).may("write", parse_resource_id(f"{SNAPSHOTS}/img-os"))


def test_only_allowed_batch_accounts_are_read_for_the_in_use_check() -> None:
    assert allowed_accounts("ns", [FOREIGN_ACCOUNT, OWN_ACCOUNT], ALLOW) == [OWN_ACCOUNT]


def test_the_owner_mark_names_the_objects_namespace() -> None:
    assert owner_of("c", "BatchPool", "team-a", "p", "u").namespace == "team-a"
    assert owner_of("c", "BatchPool", None, "p", "u").namespace == ""


class Inner:
    """A gateway that answers every call, recording it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def get(self, rid):
        self.calls.append(f"get {rid.name}")
        return {"id": str(rid)} if rid.name == "img" else None

    async def list_pools(self, account):
        self.calls.append(f"pools {account.name}")
        return []


async def test_exists_follows_what_azure_answers() -> None:
    spec = vm_image("Snapshot")
    compute = ScopedCompute(Inner(), image_scope(spec, []))  # type: ignore[arg-type]
    assert await compute.exists(spec.image_id) is True
    assert await compute.exists(parse_resource_id(f"{SNAPSHOTS}/img-os")) is False


async def test_the_gate_hands_out_a_gateway_for_each_given_and_none_for_the_others() -> None:
    spec = vm_image("Snapshot")
    inner = Inner()
    settings = SimpleNamespace(allowlist=ALLOW)
    gw = gated("ns", image_scope(spec, [OWN_ACCOUNT]), settings,  # type: ignore[arg-type]
               accounts=inner)  # type: ignore[arg-type]
    assert isinstance(gw, Gated)
    assert gw.compute is None and gw.pools is None
    assert isinstance(gw.accounts, ScopedAccounts)
    await gw.accounts.list_pools(OWN_ACCOUNT)
    with pytest.raises(OutOfScope):
        await gw.accounts.list_pools(FOREIGN_ACCOUNT)
    assert inner.calls == ["pools acct"]
    bare = gated("ns", image_scope(spec, []), settings)  # type: ignore[arg-type]
    assert isinstance(bare, Gated) and bare.accounts is None


def test_a_denied_id_yields_the_not_allowed_outcome_and_no_gateway() -> None:
    spec = vm_image("Snapshot")
    denied = gated("ns", image_scope(spec, [FOREIGN_ACCOUNT]),
                   SimpleNamespace(allowlist=ALLOW),  # type: ignore[arg-type]
                   accounts=Inner())  # type: ignore[arg-type]
    assert isinstance(denied, Outcome)
