"""Node limits at their edges: low-priority demand summed over the lineage, the NAT caps
at exactly Azure's numbers, namespace caps counting every node, uids read from the API
server, and refusals naming only this namespace's pools."""

from __future__ import annotations

import json

import pytest
from test_limits import IMG, check, pool

from batch_image_operator.planning.limits import (
    Limits,
    PoolDemand,
    check_quota,
    nat_port_capacity,
)


def test_low_priority_nodes_are_summed_over_the_lineage() -> None:
    first = pool("a", "1", {IMG}, low=600)
    assert check(pool("b", "2", {IMG}, low=400), [first]).within
    over = check(pool("b", "2", {IMG}, low=401), [first])
    assert not over.within and "1001/1000 low-priority" in over.message


def test_a_pool_growing_only_its_low_priority_nodes_is_the_one_refused() -> None:
    other = pool("a", "1", {IMG}, low=900)
    grown = pool("b", "2", {IMG}, low=150)
    assert not check(grown, [other], admitted=(0, 100)).within
    assert check(grown, [other], admitted=(0, 150)).within  # unchanged: not refused
    assert check(grown, [other], admitted=(0, 200)).within  # shrinking: not refused


@pytest.mark.parametrize(("dedicated", "low", "within"), [
    (2500, 0, True), (2501, 0, False), (0, 1000, True), (0, 1001, False)])
def test_nat_pools_keep_azures_caps_when_the_port_range_is_wide(dedicated: int, low: int,
                                                                within: bool) -> None:
    me = pool("a", "1", {IMG}, dedicated=dedicated, low=low, nat=5000)
    assert check(me, []).within is within


def test_a_nat_port_range_holds_end_minus_start_plus_one_nodes() -> None:
    assert nat_port_capacity([{"frontendPortRangeStart": 100,
                               "frontendPortRangeEnd": 299}]) == 200


def test_a_pool_read_back_with_its_own_uid_is_not_counted_twice() -> None:
    uid = json.loads('"uid-1"')
    admitted = pool("a", uid, {IMG}, dedicated=2000)
    me = pool("a", "".join(["uid-", "1"]), {IMG}, dedicated=2100)  # growing by 100
    assert check(me, [admitted], admitted=(2000, 0)).within
    assert check_quota(me, {uid: (2000, 0)}, max_pools=1, max_nodes=2100) is None


@pytest.mark.parametrize("namespace", ["aaa", "zzz"])  # sorting before and after "ns"
def test_a_refusal_names_pools_of_this_namespace_only(namespace: str) -> None:
    mine = pool("mine", "1", {IMG}, dedicated=500, namespace=json.loads('"ns"'))
    mine2 = pool("mine2", "4", {IMG}, dedicated=500)
    theirs = pool("secret", "2", {IMG}, dedicated=1000, namespace=namespace)
    verdict = check(pool("me", "3", {IMG}, dedicated=600), [mine, mine2, theirs])
    assert not verdict.within
    assert "shared with mine, mine2 and 1 pool(s) in other namespaces" in verdict.message
    assert "secret" not in verdict.message


def test_the_refusal_says_what_was_admitted_so_far() -> None:
    verdict = check(pool("me", "3", {IMG}, dedicated=2600, low=5), [], admitted=(2000, 5))
    assert "admitted so far: 2000 dedicated / 5 low-priority" in verdict.message


def ns_pool(uid: str, dedicated: int, low: int) -> PoolDemand:
    return PoolDemand("ns", uid, uid, frozenset(), dedicated, low)


def test_namespace_node_cap_counts_dedicated_and_low_priority_of_every_pool() -> None:
    others = {"a": (300, 200), "b": (100, 0)}
    assert check_quota(ns_pool("me", 250, 150), others, max_pools=None, max_nodes=1000) is None
    refused = check_quota(ns_pool("me", 250, 151), others, max_pools=None, max_nodes=1000)
    assert refused is not None and "bring it to 1001" in refused
    assert check_quota(ns_pool("me", 100, 100), others, max_pools=None,
                       max_nodes=1000) is None  # below the cap is fine too


def test_namespace_pool_cap_is_reached_exactly() -> None:
    assert check_quota(ns_pool("me", 1, 0), {}, max_pools=2, max_nodes=None) is None
    assert check_quota(ns_pool("me", 1, 0), {"a": (1, 0)}, max_pools=2, max_nodes=None) is None
    assert check_quota(ns_pool("me", 1, 0), {"a": (1, 0), "b": (1, 0)}, max_pools=2,
                       max_nodes=None) is not None


def test_default_limits_are_azures() -> None:
    assert Limits() == Limits(dedicated=2500, low_priority=1000, nat_dedicated=2500,
                              nat_low_priority=1000)


def test_a_pool_without_a_custom_image_shares_nothing() -> None:
    verdict = check(pool("a", "1", set(), dedicated=5000), [pool("b", "2", {IMG})])
    assert verdict.within and verdict.sharing == 0 and not verdict.same_image


def test_a_demand_gives_its_nodes_as_dedicated_then_low_priority() -> None:
    assert pool("a", "1", {IMG}, dedicated=3, low=4).nodes == (3, 4)
