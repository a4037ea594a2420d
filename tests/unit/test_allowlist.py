import pytest

from batch_image_operator.models.allowlist import AllowList
from batch_image_operator.models.armid import InvalidResourceId, parse_resource_id

A = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"
B = "11111111-2222-4333-8444-555555555555"


def rid(sub, rg="rg", name="img"):
    return parse_resource_id(
        f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/images/{name}")


def test_unrestricted_when_empty():
    assert AllowList.parse(None).denied("any", [rid(A)]) == []


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
