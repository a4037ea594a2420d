import json

from batch_image_operator.planning.limits import (
    Limits,
    PoolDemand,
    admit,
    check_limits,
    check_quota,
    nat_port_capacity,
)

IMG = "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/images/a"
SNAP = "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/snapshots/os"


def pool(name, uid, lineage, dedicated=0, low=0, nat=None, namespace="ns"):
    return PoolDemand(namespace, name, uid, frozenset(lineage), dedicated, low, nat)


def check(me, others, admitted=None, image_ids=frozenset({IMG})):
    return check_limits(me, others, Limits(), admitted=admitted, image_ids=image_ids)


def test_pools_sharing_snapshots_share_one_limit():
    first = pool("a", "1", {IMG, SNAP}, dedicated=2000)
    # A different image built from the same snapshot counts against the same cap.
    second = pool("b", "2", {"/other/image", SNAP}, dedicated=600)
    assert check(first, [second], admitted=(2000, 0)).within
    verdict = check(second, [first])
    assert not verdict.within
    assert "2600/2500 dedicated" in verdict.message
    assert verdict.sharing == 1
    assert "shared with a" in verdict.message


def test_the_change_that_causes_the_excess_is_the_one_refused():
    # The oldest pool of a lineage grows: it is refused, whatever its age.
    oldest = pool("oldest", "1", {IMG}, dedicated=2000)
    others = [pool(f"p{i}", str(i + 2), {IMG}, dedicated=200) for i in range(5)]
    verdict = check(oldest, others, admitted=(11, 0))
    assert not verdict.within
    assert "3000/2500 dedicated" in verdict.message
    assert "admitted so far: 11 dedicated" in verdict.message
    # ... and the pools that did not change stay within, even if the lineage is over
    # (for example after BIO_LIMIT_DEDICATED was lowered).
    for me in others:
        rest = [p for p in others if p is not me] + [pool("oldest", "1", {IMG}, 2000)]
        assert check(me, rest, admitted=(200, 0)).within


def test_shrinking_is_never_refused():
    me = pool("a", "1", {IMG}, dedicated=100)
    assert check(me, [pool("b", "2", {IMG}, dedicated=2500)], admitted=(200, 0)).within


def test_refusals_name_pools_of_other_namespaces_only_as_a_count():
    me = pool("mine", "1", {IMG}, dedicated=2000)
    others = [pool("neighbour", "2", {IMG}, dedicated=300),
              pool("secret-project", "3", {IMG}, dedicated=300, namespace="other-team")]
    verdict = check(me, others)
    assert not verdict.within
    assert "neighbour" in verdict.message
    assert "secret-project" not in verdict.message and "other-team" not in verdict.message
    assert "1 pool(s) in other namespaces" in verdict.message


def test_shared_image_or_shared_snapshots():
    me = pool("a", "1", {IMG, SNAP}, dedicated=1)
    assert check(me, [pool("b", "2", {IMG, SNAP}, 1)]).same_image
    assert not check(me, [pool("b", "2", {"/other/image", SNAP}, 1)]).same_image


def test_unrelated_pools_do_not_count():
    a = pool("a", "1", {IMG}, dedicated=2500)
    b = pool("b", "2", {"/other"}, dedicated=2500)
    assert check(b, [a]).within


def test_low_priority_cap():
    assert not check(pool("a", "1", {IMG}, low=1001), []).within
    assert check(pool("a", "1", {IMG}, low=1000), []).within


def test_nat_pools_lower_the_cap_to_the_port_range():
    capacity = nat_port_capacity([{"frontendPortRangeStart": 50000,
                                   "frontendPortRangeEnd": 50099}])
    assert capacity == 100
    assert not check(pool("a", "1", {IMG}, dedicated=101, nat=capacity), []).within
    assert check(pool("a", "1", {IMG}, dedicated=100, nat=capacity), []).within


def test_marketplace_pools_have_no_custom_image_limit():
    assert check(pool("m", "1", set(), dedicated=5000), []).within


def test_namespace_caps():
    me = pool("new", "9", set(), dedicated=10)
    two = {"1": (5, 0), "2": (5, 0)}
    assert "at most 2 BatchPool" in check_quota(me, two, max_pools=2, max_nodes=None)
    assert check_quota(me, two, max_pools=3, max_nodes=None) is None
    assert "at most 15 nodes" in check_quota(me, two, max_pools=None, max_nodes=15)
    assert check_quota(me, two, max_pools=None, max_nodes=20) is None
    # An admitted pool that does not grow is never refused by a cap lowered under it.
    assert check_quota(pool("old", "1", set(), 5), two, max_pools=1, max_nodes=1) is None


def test_admit_checks_the_lineage_then_the_namespace():
    over = admit(pool("a", "1", {IMG}, 2501), others=[], namespace_pools={},
                 image_ids=frozenset(), limits=Limits(), max_pools=None, max_nodes=None)
    assert not over.admitted and over.quota is None
    capped = admit(pool("a", "1", {IMG}, 10), others=[], namespace_pools={"2": (1, 0)},
                   image_ids=frozenset(), limits=Limits(), max_pools=1, max_nodes=None)
    assert not capped.admitted and capped.quota
    fine = admit(pool("a", "1", {IMG}, 10), others=[], namespace_pools={},
                 image_ids=frozenset(), limits=Limits(), max_pools=1, max_nodes=None)
    assert fine.admitted


def test_an_admitted_pools_message_does_not_change_when_siblings_come_and_grow():
    # Each change of the message is a status write of this pool: with the lineage's
    # running total in it, every sibling's arrival rewrote every other pool's status.
    me = pool("a", "1", {IMG}, dedicated=4)
    one = check(me, [pool("b", "2", {IMG}, dedicated=3)], admitted=(4, 0))
    many = check(me, [pool(f"p{i}", str(i + 2), {IMG}, dedicated=100 + i, low=i,
                           namespace=f"ns{i % 2}") for i in range(19)], admitted=(4, 0))
    assert one.within and many.within
    assert one.message == many.message
    assert "admitted for 4 dedicated / 0 low-priority nodes" in one.message
    assert "2500 dedicated / 1000 low-priority" in one.message
    assert one.message == check(me, [], admitted=(4, 0)).message
    # The limit it names is the one that applies (NAT lowers it).
    nat = check(pool("a", "1", {IMG}, dedicated=4, nat=100), [], admitted=(4, 0))
    assert "100 dedicated / 100 low-priority" in nat.message


def test_the_count_of_other_namespaces_pools_is_by_value_as_parsed_from_json():
    # Namespaces arrive as separate strings (one per parsed object), never the same one.

    ns = json.loads('["ns", "ns", "ns", "other-team"]')
    me = pool("mine", "1", {IMG}, dedicated=2000, namespace=ns[0])
    others = [pool("n1", "2", {IMG}, dedicated=300, namespace=ns[1]),
              pool("n2", "3", {IMG}, dedicated=300, namespace=ns[2]),
              pool("far", "4", {IMG}, dedicated=300, namespace=ns[3])]
    verdict = check(me, others)
    assert "n1, n2" in verdict.message
    assert "1 pool(s) in other namespaces" in verdict.message
