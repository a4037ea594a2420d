import pytest

from batch_image_operator.models.armid import InvalidResourceId, parse_resource_id

SUB = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"
SNAP = f"/subscriptions/{SUB}/resourceGroups/rg-img/providers/Microsoft.Compute/snapshots/os-snap"


def test_parses_snapshot_id_into_segments():
    rid = parse_resource_id(SNAP, namespace="Microsoft.Compute", types=("snapshots",))
    assert (rid.subscription_id, rid.resource_group, rid.name) == (SUB, "rg-img", "os-snap")
    assert str(rid) == SNAP


def test_parses_nested_gallery_version():
    raw = (f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/"
           "galleries/gal/images/def/versions/1.0.0")
    rid = parse_resource_id(raw)
    assert rid.types == ("galleries", "images", "versions")
    assert rid.name == "1.0.0"


@pytest.mark.parametrize("raw", [
    SNAP + "/../../../../other",                       # traversal
    SNAP.replace("os-snap", ".."),                      # dot-dot name
    SNAP + "?api-version=2020-01-01",                   # query string
    SNAP + "#frag",
    SNAP.replace("os-snap", "os%2Fsnap"),               # encoded separator
    SNAP.replace(SUB, "not-a-guid"),                    # foreign/garbage subscription
    "https://evil.example" + SNAP,                      # absolute URL
    SNAP.replace("/subscriptions/", "/subscriptions//"),
    "",
    "/subscriptions/" + SUB,
])
def test_rejects_hostile_ids(raw):
    with pytest.raises(InvalidResourceId):
        parse_resource_id(raw)


def test_enforces_expected_type():
    with pytest.raises(InvalidResourceId):
        parse_resource_id(SNAP, namespace="Microsoft.Compute", types=("images",))
    with pytest.raises(InvalidResourceId):
        parse_resource_id(SNAP, namespace="Microsoft.Batch")
