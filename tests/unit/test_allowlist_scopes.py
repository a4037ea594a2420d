"""Allow-list scope syntax: each malformed entry is refused with the allow-list's own
error (the operator then stops with one line), never accepted and never a crash."""

from __future__ import annotations

import pytest

from batch_image_operator.models.allowlist import AllowList, Scope
from batch_image_operator.models.armid import InvalidResourceId

A = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"


@pytest.mark.parametrize("scope", [
    "/subscriptions",                                # too short to hold a subscription
    f"/subscriptions/{A}/resourceGroups",            # a group keyword with no group
    f"/tenants/{A}",                                 # not a subscription (sorts after it)
    f"/managementGroups/{A}",                        # not a subscription (sorts before it)
    f"/tenants/{A}/resourceGroups/rg",
    f"/managementGroups/{A}/resourceGroups/rg",
    f"/subscriptions/{A}/resourcegroupz/rg",         # not the group keyword (sorts after)
    f"/subscriptions/{A}/providers/rg",              # not the group keyword (sorts before)
    f"/subscriptions/{A}/resourceGroups/rg.",        # Azure refuses a group ending in '.'
    f"/subscriptions/{A}/resourceGroups/rg$x",
])
def test_a_malformed_scope_is_refused_with_the_allow_lists_error(scope: str) -> None:
    with pytest.raises(InvalidResourceId, match="allow-list scope"):
        AllowList.parse({"*": [scope]})


def test_well_formed_scopes_parse_in_any_case() -> None:
    allow = AllowList.parse({"*": [f"/SUBSCRIPTIONS/{A}",
                                   f"subscriptions/{A}/RESOURCEGROUPS/rg-a/"]})
    assert allow.scopes["*"] == (Scope(A), Scope(A, "rg-a"))
