"""A pass writes only the status fields that differ from the newest status known."""

from __future__ import annotations

from batch_image_operator.models.conditions import FALSE, TRUE, Condition
from batch_image_operator.reconcilers.outcome import Outcome
from batch_image_operator.runner.status import status_changes


def ready(status: str, reason: str) -> Outcome:
    return Outcome(conditions=[Condition("Ready", status, reason, reason.lower())],
                   status={"poolId": "p", "allocationState": "Steady"})


def test_first_pass_writes_everything() -> None:
    changes, changed = status_changes(ready(FALSE, "Resizing"), generation=1, status={})
    assert changed
    assert changes["poolId"] == "p" and changes["allocationState"] == "Steady"
    assert changes["observedGeneration"] == 1
    assert [(c["type"], c["status"], c["reason"]) for c in changes["conditions"]] == \
        [("Ready", "False", "Resizing")]


def test_a_pass_with_nothing_new_writes_nothing() -> None:
    first, _ = status_changes(ready(TRUE, "Steady"), generation=2, status={})
    changes, changed = status_changes(ready(TRUE, "Steady"), generation=2, status=first)
    assert (changes, changed) == ({}, False)


def test_only_the_fields_that_differ_are_written() -> None:
    first, _ = status_changes(ready(TRUE, "Steady"), generation=2, status={})
    later = Outcome(conditions=[Condition("Ready", TRUE, "Steady", "steady")],
                    status={"poolId": "p", "allocationState": "Resizing"})
    changes, changed = status_changes(later, generation=2, status=first)
    assert (changes, changed) == ({"allocationState": "Resizing"}, False)


def test_a_new_generation_is_recorded_even_when_nothing_else_changed() -> None:
    first, _ = status_changes(ready(TRUE, "Steady"), generation=2, status={})
    changes, _ = status_changes(ready(TRUE, "Steady"), generation=3, status=first)
    assert changes.get("observedGeneration") == 3
