"""Short resizes at their edges: Batch's codes read from JSON, a lowered attempt bound,
an overdue or sub-second backoff, large generations, and what the message says."""

from __future__ import annotations

import json
from typing import Any

import pytest

from batch_image_operator.planning.resizes import ShortAction, plan_short


def errors(*codes: str) -> list[dict[str, str]]:
    """As Batch's JSON decodes: codes are fresh strings, not the module's constants."""
    return json.loads(json.dumps([{"code": c, "message": f"{c} happened"} for c in codes]))


def plan(errs: list[dict[str, str]], **kw: Any):
    args: dict[str, Any] = {"attempts": 1, "max_attempts": 5, "image_missing": False,
                            "wait_left": 0, **kw}
    return plan_short(errors=errs, **args)


def test_allocation_failed_from_json_with_the_image_gone_is_diagnosed() -> None:
    assert plan(errors("AllocationFailed"), image_missing=True).action is \
        ShortAction.IMAGE_MISSING


@pytest.mark.parametrize("code", ["AllocationTimedout", "AccountQuotaExceeded"])
def test_other_codes_are_not_taken_for_allocation_failed(code: str) -> None:
    # Codes sorting after and before AllocationFailed: a missing image is not the cause.
    assert plan(errors(code), image_missing=True).action is ShortAction.REISSUE


def test_a_stop_from_json_is_respected_and_other_codes_are_not_a_stop() -> None:
    assert plan(errors("ResizeStopped")).action is ShortAction.STOPPED
    assert plan(errors("TooManyRequests")).action is ShortAction.REISSUE  # sorts after


def test_a_stop_is_respected_at_any_generation_until_the_spec_changes() -> None:
    big = int("1000")  # a long-lived object: not one of Python's cached small ints
    assert plan(errors("ResizeStopped"), generation=big,
                stopped_generation=int("1000")).action is ShortAction.STOPPED
    assert plan(errors("ResizeStopped"), generation=big + 1,
                stopped_generation=big).action is ShortAction.REISSUE


def test_attempts_beyond_a_lowered_bound_are_exhausted_not_retried() -> None:
    assert plan(errors("AllocationTimedout"), attempts=7).action is ShortAction.EXHAUSTED


@pytest.mark.parametrize(("wait_left", "action"), [
    (-3, ShortAction.REISSUE), (0, ShortAction.REISSUE), (0.5, ShortAction.WAIT)])
def test_an_overdue_retry_goes_now_and_a_short_wait_is_kept(wait_left: float,
                                                            action: ShortAction) -> None:
    got = plan(errors("AllocationTimedout"), attempts=2, wait_left=wait_left)
    assert got.action is action
    assert got.delay == (wait_left if action is ShortAction.WAIT else 0)


def test_the_message_names_batchs_errors_and_the_next_attempt() -> None:
    got = plan(errors("AllocationTimedout"), attempts=3)
    assert "AllocationTimedout: AllocationTimedout happened" in got.message
    assert "(attempt 4 of 5)" in got.message
    assert "no error reported" in plan([]).message
