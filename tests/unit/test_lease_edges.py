"""Leader election at its edges: timings that cannot fence refused at their boundaries
(client-go's rules), and our own Lease recognised when read back from the API server."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from batch_image_operator.planning.lease import (
    Action,
    Fence,
    LeaseRecord,
    LeaseTimings,
    Observation,
    decide,
)


@pytest.mark.parametrize(("timings", "problem"), [
    (LeaseTimings(5, 10, 2), "lease duration must be longer than the renew deadline"),
    (LeaseTimings(15, 1, 2), "renew deadline must be longer than the retry period"),
    (LeaseTimings(0.5, 0.4, 0.1), "at least 1 second"),
])
def test_timings_that_cannot_fence_are_refused(timings: LeaseTimings, problem: str) -> None:
    assert any(problem in p for p in timings.problems())


def test_short_but_sound_timings_are_accepted() -> None:
    assert LeaseTimings(1.5, 1, 0.5).problems() == []
    assert LeaseTimings(1, 0.6, 0.05).problems() == []  # exactly the 1 s minimum
    assert LeaseTimings().problems() == []


def test_the_defaults_are_client_gos() -> None:
    assert LeaseTimings() == LeaseTimings(lease_duration=15, renew_deadline=10, retry_period=2)


def test_our_own_lease_read_back_from_the_api_server_is_renewed() -> None:
    lease = json.loads(json.dumps({"metadata": {"resourceVersion": "7"}, "spec": {
        "holderIdentity": "pod-a", "leaseDurationSeconds": 15, "leaseTransitions": 2,
        "acquireTime": "2026-12-02T16:00:00.000000Z",
        "renewTime": "2026-12-02T16:59:58.000000Z"}}))
    seen = Observation(LeaseRecord.from_lease(lease), changed_at=100.0)
    me = "".join(["pod-", "a"])  # the identity as settings build it, not a shared literal
    step = decide(seen, me, now=101.0, wall=datetime(2026, 12, 2, 17, tzinfo=UTC),
                  timings=LeaseTimings())
    assert step.action is Action.RENEW


def test_the_fence_says_how_long_a_renewal_may_still_take() -> None:
    now = [55.0]
    fence = Fence(renew_deadline=10, clock=lambda: now[0])
    assert fence.remaining() == float("-inf")  # never renewed: closed
    fence.renewed(sent_at=100.0)
    assert fence.remaining() == 55.0  # the renewal's deadline bounds the next attempt
    fence.close()
    assert fence.remaining() == float("-inf")
