"""Lease timings that cannot fence are refused (client-go's rules), at their boundaries."""

from __future__ import annotations

import pytest

from batch_image_operator.planning.lease import LeaseTimings


@pytest.mark.parametrize(("timings", "problem"), [
    (LeaseTimings(5, 10, 2), "lease duration must be longer than the renew deadline"),
    (LeaseTimings(15, 1, 2), "renew deadline must be longer than the retry period"),
    (LeaseTimings(0.5, 0.4, 0.1), "at least 1 second"),
])
def test_timings_that_cannot_fence_are_refused(timings: LeaseTimings, problem: str) -> None:
    assert any(problem in p for p in timings.problems())


def test_short_but_sound_timings_are_accepted() -> None:
    assert LeaseTimings(1.5, 1, 0.5).problems() == []
    assert LeaseTimings().problems() == []


def test_the_defaults_are_client_gos() -> None:
    assert LeaseTimings() == LeaseTimings(lease_duration=15, renew_deadline=10, retry_period=2)
