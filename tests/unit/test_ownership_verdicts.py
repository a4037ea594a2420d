"""Ownership verdicts on marks read back from Azure (new strings, as a real answer gives):
our own mark is ours; another owner's mark is refused, naming it only inside our own
namespace (never another tenant's object, never another cluster's)."""

from __future__ import annotations

import json

import pytest

from batch_image_operator.models.ownership import Owner, owner_from_metadata, owner_from_tags
from batch_image_operator.models.reasons import Reason
from batch_image_operator.planning.ownership import Claim, judge

ME = Owner("cluster-m", "BatchPool", "team-m", "render", "uid-1")


def from_azure(owner: Owner) -> Owner:
    """The mark as a resource's tags come back over the wire."""
    found = owner_from_tags(json.loads(json.dumps(owner.tags())))
    assert found is not None
    return found


def test_our_own_mark_read_back_from_azure_is_ours() -> None:
    found = from_azure(ME)
    assert judge(ME, found, what="Azure pool p", adopt=False).claim is Claim.OURS
    metadata = owner_from_metadata(json.loads(json.dumps(ME.metadata())))
    assert metadata is not None and judge(ME, metadata, what="p", adopt=False).may_write


def test_a_verdict_says_why_it_refuses() -> None:
    verdict = judge(ME, None, what="Azure pool p", adopt=False)
    assert verdict.why is Reason.EXISTS_NOT_OWNED
    assert not verdict.may_write


@pytest.mark.parametrize("namespace", ["team-a", "team-z"])  # sorts before and after ours
def test_an_owner_in_another_namespace_is_never_named(namespace: str) -> None:
    other = from_azure(Owner("cluster-m", "BatchPool", namespace, "secret-project", "u2"))
    verdict = judge(ME, other, what="Azure pool p", adopt=False)
    assert verdict.claim is Claim.OWNED_BY_ANOTHER and not verdict.may_write
    assert "an object in another namespace" in verdict.message
    assert namespace not in verdict.message and "secret-project" not in verdict.message


@pytest.mark.parametrize("cluster", ["cluster-a", "cluster-z"])  # sorts before and after ours
def test_an_owner_in_another_cluster_is_named_only_as_such(cluster: str) -> None:
    other = from_azure(Owner(cluster, "BatchPool", "team-m", "secret-project", "u2"))
    verdict = judge(ME, other, what="Azure pool p", adopt=False)
    assert "another cluster's operator" in verdict.message
    assert "secret-project" not in verdict.message and cluster not in verdict.message


def test_an_owner_in_our_own_namespace_is_named() -> None:
    other = from_azure(Owner("cluster-m", "BatchPool", "team-m", "other-pool", "u2"))
    assert "BatchPool team-m/other-pool" in judge(ME, other, what="p", adopt=False).message
    kindless = from_azure(Owner("cluster-m", "", "team-m", "other-pool", "u2"))  # partial mark
    assert "object team-m/other-pool" in judge(ME, kindless, what="p", adopt=False).message
