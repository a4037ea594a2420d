from batch_image_operator.planning.limits import (
    Limits,
    PoolDemand,
    check_limits,
    nat_port_capacity,
)

IMG = "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/images/a"
SNAP = "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/snapshots/os"


def pool(name, created, lineage, dedicated=0, low=0, nat=None):
    return PoolDemand("ns", name, created, frozenset(lineage), dedicated, low, nat)


def test_pools_sharing_snapshots_share_one_limit():
    first = pool("a", "1", {IMG, SNAP}, dedicated=2000)
    # A different image built from the same snapshot counts against the same cap.
    second = pool("b", "2", {"/other/image", SNAP}, dedicated=600)
    assert check_limits(first, [first, second], Limits()).within
    verdict = check_limits(second, [first, second], Limits())
    assert not verdict.within
    assert "2600/2500 dedicated" in verdict.message
    assert verdict.shared_with == ("ns/a",)


def test_unrelated_pools_do_not_count():
    a = pool("a", "1", {IMG}, dedicated=2500)
    b = pool("b", "2", {"/other"}, dedicated=2500)
    assert check_limits(b, [a, b], Limits()).within


def test_low_priority_cap():
    assert not check_limits(pool("a", "1", {IMG}, low=1001), [], Limits()).within
    assert check_limits(pool("a", "1", {IMG}, low=1000), [], Limits()).within


def test_nat_pools_lower_the_cap_to_the_port_range():
    capacity = nat_port_capacity([{"frontendPortRangeStart": 50000,
                                   "frontendPortRangeEnd": 50099}])
    assert capacity == 100
    assert not check_limits(pool("a", "1", {IMG}, dedicated=101, nat=capacity), [],
                            Limits()).within
    assert check_limits(pool("a", "1", {IMG}, dedicated=100, nat=capacity), [], Limits()).within


def test_marketplace_pools_have_no_custom_image_limit():
    assert check_limits(pool("m", "1", set(), dedicated=5000), [], Limits()).within
