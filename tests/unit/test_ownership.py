"""The owner mark and who may write to an existing Azure resource (pure)."""

from __future__ import annotations

from batch_image_operator.models.ownership import (
    Owner,
    is_reserved,
    owner_from_metadata,
    owner_from_tags,
)
from batch_image_operator.planning.ownership import Claim, judge

ME = Owner("cluster-1", "BatchPool", "team-a", "render", "uid-1")


def verdict(found: Owner | None, adopt: bool = False):
    return judge(ME, found, what="Azure pool render", adopt=adopt)


def test_the_mark_round_trips_as_tags_and_as_metadata() -> None:
    assert owner_from_tags(ME.tags()) == ME
    assert owner_from_metadata(ME.metadata()) == ME
    # ARM tag names are case-insensitive.
    assert owner_from_tags({k.upper(): v for k, v in ME.tags().items()}) == ME
    assert owner_from_tags({"team": "x"}) is None
    assert owner_from_metadata([{"name": "team", "value": "x"}]) is None


def test_a_partial_mark_is_still_someone_elses() -> None:
    partial = owner_from_tags({"batchimage.dev-uid": "uid-1"})
    assert partial is not None and partial != ME
    assert verdict(partial).claim is Claim.OWNED_BY_ANOTHER


def test_only_our_own_mark_lets_us_write() -> None:
    assert verdict(ME).claim is Claim.OURS and verdict(ME).may_write


def test_an_unmarked_resource_is_not_ours_unless_adopted() -> None:
    refused = verdict(None)
    assert refused.claim is Claim.NOT_OWNED and not refused.may_write
    assert refused.reason == "ExistsNotOwned"
    assert "batchimage.dev/adopt" in refused.message
    assert verdict(None, adopt=True).claim is Claim.ADOPT and verdict(None, adopt=True).may_write


def test_a_recreated_object_does_not_silently_take_over() -> None:
    earlier = Owner("cluster-1", "BatchPool", "team-a", "render", "uid-0")
    refused = verdict(earlier)
    assert refused.claim is Claim.EARLIER_OBJECT and not refused.may_write
    assert verdict(earlier, adopt=True).may_write


def test_another_objects_resource_is_never_taken_even_when_asked() -> None:
    same_ns = Owner("cluster-1", "BatchPool", "team-a", "other", "uid-2")
    other_ns = Owner("cluster-1", "BatchPool", "team-b", "secret", "uid-3")
    other_cluster = Owner("cluster-2", "BatchPool", "team-a", "render", "uid-1")
    for found in (same_ns, other_ns, other_cluster):
        assert not verdict(found, adopt=True).may_write
        assert verdict(found).reason == "OwnedByAnother"
    assert "team-a/other" in verdict(same_ns).message
    # Another namespace's objects are never named.
    assert "team-b" not in verdict(other_ns).message and "secret" not in verdict(other_ns).message


def test_reserved_names() -> None:
    assert is_reserved("batchimage.dev-uid") and is_reserved("BatchImage.dev/anything")
    assert not is_reserved("team")
