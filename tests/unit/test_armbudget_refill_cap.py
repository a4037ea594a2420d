"""When a late write must take a fresh token: only when the estimate is back within one
token of full, so its first token was lost to the cap (planning/armbudget.py, pure)."""

from __future__ import annotations

from batch_image_operator.planning.armbudget import ARM_LIMITS, Budget

WRITES = ARM_LIMITS["writes"]  # 200 tokens, 10 per second; 197 usable with the margin


def test_a_full_estimate_and_one_within_a_token_of_full_count_as_refilled() -> None:
    budget = Budget(WRITES, now=0.0)
    assert budget.refilled_to_cap(0.0)
    budget.reserve(0.0)  # the late write's own token: 196 left
    assert budget.refilled_to_cap(0.0)


def test_an_estimate_more_than_a_token_short_of_full_is_not_refilled() -> None:
    budget = Budget(WRITES, now=0.0)
    budget.reserve(0.0)
    budget.reserve(0.0)  # 195 left: a token below the "within one" line
    assert not budget.refilled_to_cap(0.0)
    assert not budget.refilled_to_cap(0.05)  # 195.5
    assert budget.refilled_to_cap(0.1)  # 196 again


def test_behind_a_queue_the_estimate_is_not_refilled_until_time_has_paid_it_back() -> None:
    budget = Budget(WRITES, now=0.0)
    for _ in range(100):
        budget.reserve(0.0)  # 97 left
    assert not budget.refilled_to_cap(5.0)  # 147
    assert not budget.refilled_to_cap(9.8)  # 195
    assert budget.refilled_to_cap(9.9)  # 196
    assert budget.refilled_to_cap(60.0)  # capped at 197
