"""The ARM bucket arithmetic, exactly: ARM's published sizes and refill rates, the
safety margin, refill after idle time (capped), and a 429 leaving the bucket empty."""

from __future__ import annotations

import pytest

from batch_image_operator.planning.armbudget import ARM_LIMITS, Budget, Limit, category


@pytest.mark.parametrize(("bucket", "capacity", "per_second"), [
    ("reads", 250, 25), ("writes", 200, 10), ("deletes", 200, 10)])
def test_each_bucket_bursts_its_size_less_the_margin_then_refills_at_arms_rate(
        bucket: str, capacity: int, per_second: int) -> None:
    budget = Budget(ARM_LIMITS[bucket], now=100.0)
    waits = [budget.reserve(100.0) for _ in range(capacity - 3 + 2)]
    assert waits[:capacity - 3] == [0.0] * (capacity - 3)
    assert waits[capacity - 3:] == pytest.approx([1 / per_second, 2 / per_second])


def test_refill_follows_elapsed_time_and_stops_at_the_bucket_size() -> None:
    budget = Budget(Limit(20, 4), now=100.0, safety=0)
    assert [budget.reserve(100.0) for _ in range(20)] == [0.0] * 20
    # One second later four tokens are back: four go now, the fifth waits a quarter second.
    assert [budget.reserve(101.0) for _ in range(5)] == pytest.approx([0, 0, 0, 0, 0.25])
    # After a long idle the bucket is full again, never fuller.
    assert [budget.reserve(1000.0) for _ in range(21)] == pytest.approx([0.0] * 20 + [0.25])


def test_after_a_429_the_bucket_is_empty_not_overdrawn() -> None:
    budget = Budget(Limit(20, 4), now=0.0, safety=0)
    budget.throttled(0.0, 0.0)
    assert budget.reserve(0.0) == pytest.approx(0.25)


def test_http_methods_map_to_their_buckets_in_any_case() -> None:
    assert [category(m) for m in ("get", "HEAD", "delete", "PUT", "patch", "POST")] == [
        "reads", "reads", "deletes", "writes", "writes", "writes"]


def test_the_margin_is_kept_back_after_a_refill_too() -> None:
    budget = Budget(ARM_LIMITS["writes"], now=0.0)
    assert max(budget.reserve(0.0) for _ in range(197)) == 0.0
    waits = [budget.reserve(1000.0) for _ in range(198)]
    assert waits[:197] == [0.0] * 197 and waits[197] == pytest.approx(0.1)
