"""Which events a pass posts: every action, and each warning once per appearance."""

from __future__ import annotations

from batch_image_operator.reconcilers.outcome import Event, Outcome
from batch_image_operator.runner.status import events_to_post

SHARED = Event("Warning", "SharedImage", "this image lineage is also used by b")


def test_actions_are_always_posted() -> None:
    creating = Event("Normal", "Creating", "Creating Batch pool p")
    posted, _ = events_to_post(Outcome(events=[creating]), frozenset())
    assert posted == [creating]
    posted, _ = events_to_post(Outcome(events=[creating]), frozenset())
    assert posted == [creating]


def test_a_warning_is_posted_once_while_it_lasts() -> None:
    posted, warned = events_to_post(Outcome(events=[SHARED]), frozenset())
    assert posted == [SHARED]
    posted, warned = events_to_post(Outcome(events=[SHARED]), warned)
    assert posted == []  # the next pass (creating -> ready) finds the same state


def test_a_changed_warning_is_posted_again() -> None:
    _, warned = events_to_post(Outcome(events=[SHARED]), frozenset())
    more = Event("Warning", "SharedImage", "this image lineage is also used by b, c")
    posted, _ = events_to_post(Outcome(events=[more]), warned)
    assert posted == [more]


def test_a_warning_that_went_away_and_came_back_is_posted_again() -> None:
    _, warned = events_to_post(Outcome(events=[SHARED]), frozenset())
    _, warned = events_to_post(Outcome(), warned)
    assert warned == frozenset()
    posted, _ = events_to_post(Outcome(events=[SHARED]), warned)
    assert posted == [SHARED]
