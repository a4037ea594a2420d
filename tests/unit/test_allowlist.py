import pytest

from batch_image_operator.models.allowlist import AllowList
from batch_image_operator.models.armid import InvalidResourceId, parse_resource_id

A = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"
B = "11111111-2222-4333-8444-555555555555"


def rid(sub, rg="rg", name="img"):
    return parse_resource_id(
        f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/images/{name}")


def test_only_an_explicit_choice_is_unrestricted():
    assert AllowList.unrestricted().denied("any", [rid(A), rid(B)]) == []
    # Nothing configured allows nothing (the settings' default).
    assert AllowList().denied("any", [rid(A)]) == [rid(A)]


@pytest.mark.parametrize("empty", [None, {}])
def test_an_empty_allow_list_is_refused_not_read_as_no_restriction(empty):
    with pytest.raises(InvalidResourceId, match="empty"):
        AllowList.parse(empty)


def test_every_id_of_an_object_is_checked_not_only_the_first():
    allow = AllowList.parse({"team-a": [f"/subscriptions/{A}/resourceGroups/rg-a"]})
    ok, bad = rid(A, "rg-a", "image"), rid(B, "rg-a", "os-snapshot")
    assert allow.denied("team-a", [ok, bad]) == [bad]
    assert allow.denied("team-a", [ok, ok, bad, ok]) == [bad]
    assert allow.denied("team-a", [bad, ok]) == [bad]


@pytest.mark.parametrize("group", ["rg-a-evil", "rg-a2", "rg-", "xrg-a", "rg"])
def test_a_resource_group_scope_matches_exactly_never_as_a_prefix(group):
    allow = AllowList.parse({"*": [f"/subscriptions/{A}/resourceGroups/rg-a"]})
    assert allow.denied("any", [rid(A, group)]) == [rid(A, group)]
    assert allow.denied("any", [rid(A, "RG-A"), rid(A, "rg-a")]) == []


def test_a_namespace_listed_with_no_scopes_may_target_nothing():
    allow = AllowList.parse({"locked": [], "*": [f"/subscriptions/{A}"]})
    assert allow.denied("locked", [rid(A)]) == [rid(A)]
    assert allow.denied("other", [rid(A)]) == []


def test_namespace_scopes_and_default():
    allow = AllowList.parse({"team-a": [f"/subscriptions/{A}/resourceGroups/rg-a"],
                             "*": [f"/subscriptions/{B}"]})
    assert allow.denied("team-a", [rid(A, "RG-A")]) == []        # ARM names are case-insensitive
    assert allow.denied("team-a", [rid(A, "rg-b")]) == [rid(A, "rg-b")]
    assert allow.denied("team-a", [rid(B)]) == [rid(B)]           # listed ns: no fallback
    assert allow.denied("other", [rid(B, "anything")]) == []
    assert allow.denied("other", [rid(A)]) == [rid(A)]


@pytest.mark.parametrize("bad", [{"ns": "/subscriptions/x"}, {"ns": ["/subscriptions/x"]},
                                 {"ns": [f"/subscriptions/{A}/resourceGroups/a/../b"]}, ["x"]])
def test_malformed_allow_lists_are_refused(bad):
    with pytest.raises(InvalidResourceId):
        AllowList.parse(bad)


def test_every_snapshot_of_a_managed_image_is_checked():
    from batch_image_operator.models.managedimage import parse_managed_image
    from batch_image_operator.planning.scope import gate, image_scope

    def snap(group, name):
        return (f"/subscriptions/{A}/resourceGroups/{group}/providers/Microsoft.Compute"
                f"/snapshots/{name}")

    spec = parse_managed_image("img", {
        "resourceGroup": "rg-a", "location": "westeurope",
        "source": {"snapshots": {
            "osDisk": {"snapshotId": snap("rg-a", "os"), "osType": "Linux"},
            "dataDisks": [{"lun": 0, "snapshotId": snap("rg-a", "d0")},
                          {"lun": 1, "snapshotId": snap("rg-a-evil", "d1")}]}}},
        default_subscription=A)
    allow = AllowList.parse({"*": [f"/subscriptions/{A}/resourceGroups/rg-a"]})
    assert [str(r) for r in gate("ns", image_scope(spec, []), allow)] == [
        snap("rg-a-evil", "d1")]
