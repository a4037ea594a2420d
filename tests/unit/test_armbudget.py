"""The client-side mirror of ARM's token buckets: requests queue at the refill rate,
what ARM reports only lowers the estimate, and a 429 holds everything for Retry-After."""

import math

from batch_image_operator.planning.armbudget import ARM_LIMITS, Budget, Limit, category


def test_methods_draw_from_arms_three_buckets():
    assert [category(m) for m in ("GET", "head", "PUT", "PATCH", "POST", "DELETE")] == [
        "reads", "reads", "writes", "writes", "writes", "deletes"]


def test_a_burst_beyond_the_bucket_queues_at_the_refill_rate():
    budget = Budget(Limit(5, 2), now=0.0, safety=0)
    waits = [budget.reserve(0.0) for _ in range(8)]
    assert waits == [0, 0, 0, 0, 0, 0.5, 1.0, 1.5]
    # Time passing refills it.
    assert budget.reserve(10.0) == 0


def test_arm_reporting_fewer_tokens_lowers_the_estimate_never_raises_it():
    budget = Budget(Limit(10, 1), now=0.0, safety=0)
    budget.observe(2, 0.0)        # another client of the same principal used the rest
    assert [budget.reserve(0.0) for _ in range(3)] == [0, 0, 1.0]
    budget.observe(100, 0.0)      # more than the bucket can hold: ignored
    assert budget.reserve(0.0) == 2.0


def test_a_429_holds_every_request_until_retry_after():
    budget = Budget(Limit(10, 1), now=0.0, safety=0)
    budget.throttled(7, now=1.0)
    assert budget.reserve(1.0) >= 6.0


def _server_429s(send_times, limit):
    """ARM's bucket (as documented) fed the requests at these times: how many are refused."""
    tokens, stamp, refused = limit.capacity, 0.0, 0
    for t in sorted(send_times):
        tokens = min(limit.capacity, tokens + (t - stamp) * limit.refill_per_second)
        stamp = t
        if tokens < 1:
            refused += 1
        else:
            tokens -= 1
    return refused


def test_a_thousand_pool_creations_meet_no_429_and_finish_near_the_floor():
    writes = ARM_LIMITS["writes"]
    budget = Budget(writes, now=0.0)
    sends = [budget.reserve(0.0) for _ in range(1000)]
    assert _server_429s(sends, writes) == 0
    floor = (1000 - writes.capacity) / writes.refill_per_second          # 80 s
    assert floor <= max(sends) <= floor * 1.01
    assert math.isclose(sends[-1] - sends[-2], 1 / writes.refill_per_second)
