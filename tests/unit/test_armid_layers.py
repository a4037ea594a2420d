"""Strict ARM id parsing, one layer at a time: each malformed id is refused by the layer
that owns the problem, with that layer's message, and nothing later gets to decide."""

from __future__ import annotations

import pytest

from batch_image_operator.models.armid import InvalidResourceId, parse_resource_id

SUB = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"
TAIL = "providers/Microsoft.Compute/images/i"


def refusal(raw: str, **want: str) -> str:
    with pytest.raises(InvalidResourceId) as err:
        parse_resource_id(raw, **want)  # type: ignore[arg-type]
    return str(err.value)


@pytest.mark.parametrize("raw", [
    f"x/subscriptions/{SUB}/resourceGroups/rg/{TAIL}",        # does not start with '/'
    f"/tenants/{SUB}/resourceGroups/rg/{TAIL}",               # sorts after 'subscriptions'
    f"/resources/{SUB}/resourceGroups/rg/{TAIL}",             # sorts before it
])
def test_the_start_must_be_slash_subscriptions(raw: str) -> None:
    assert refusal(raw).endswith("an ARM id must start with /subscriptions/")


@pytest.mark.parametrize("raw", [
    "/subscriptions",
    f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/images",  # 8 segments
])
def test_a_truncated_id_is_told_how_it_must_go_on(raw: str) -> None:
    assert "the id must go on to /resourceGroups/<name>/providers/" in refusal(raw)


@pytest.mark.parametrize("raw", [
    f"/subscriptions/{SUB}/providers/rg/{TAIL}",                        # sorts before
    f"/subscriptions/{SUB}/resourceGroupz/rg/{TAIL}",                   # sorts after
    f"/subscriptions/{SUB}/resourceGroups/rg/resources/Microsoft.Compute/images/i",  # after
    f"/subscriptions/{SUB}/resourceGroups/rg/private/Microsoft.Compute/images/i",    # before
])
def test_resource_groups_and_providers_must_be_where_they_belong(raw: str) -> None:
    assert refusal(raw).endswith(
        "the subscription must be followed by /resourceGroups/<name>/providers/")


@pytest.mark.parametrize("required", ["Microsoft.Compute", "Microsoft.Network"])
def test_a_namespace_requirement_refuses_namespaces_sorting_either_side(required: str) -> None:
    pool = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Batch/batchAccounts/a"
    other = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/s"
    raw = pool if required == "Microsoft.Compute" else other
    assert refusal(raw, namespace=required).endswith(f"not a {required} one")


def test_a_bad_id_is_quoted_whole_up_to_160_characters_then_cut() -> None:
    assert f"got '{'x' * 160}':" in refusal("x" * 160)
    assert f"got '{'x' * 160}...':" in refusal("x" * 161)
