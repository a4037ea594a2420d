import json

from batch_image_operator.models.conditions import Condition, find, is_true, merge_conditions


def test_transition_time_moves_only_when_status_changes():
    first = merge_conditions([], [Condition("Ready", "False", "Creating")], generation=1,
                             now="2026-01-01T00:00:00Z")
    same = merge_conditions(first, [Condition("Ready", "False", "Provisioning", "still")],
                            generation=1, now="2026-01-01T00:05:00Z")
    assert same[0]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert same[0]["reason"] == "Provisioning"
    flipped = merge_conditions(same, [Condition("Ready", "True", "ImageReady")], generation=2,
                               now="2026-01-01T00:09:00Z")
    assert flipped[0]["lastTransitionTime"] == "2026-01-01T00:09:00Z"
    assert flipped[0]["observedGeneration"] == 2
    assert is_true(flipped, "Ready")


def test_other_conditions_are_kept():
    merged = merge_conditions([{"type": "SourceValid", "status": "True", "reason": "ok"}],
                              [Condition("Ready", "True", "r")], generation=1, now="t")
    assert {c["type"] for c in merged} == {"SourceValid", "Ready"}


# Conditions as they come back from the API server: parsed JSON, so no string in them is
# the same object as the operator's constants, and a user may have edited them.
def _from_api(conditions: list[dict[str, object]]) -> list[dict[str, object]]:
    parsed: list[dict[str, object]] = json.loads(json.dumps(conditions))
    return parsed


def test_an_unchanged_status_read_back_from_the_api_keeps_its_transition_time():
    first = _from_api(merge_conditions([], [Condition("Ready", "False", "Creating")],
                                       generation=1, now="t0"))
    same = merge_conditions(first, [Condition("Ready", "False", "Provisioning")],
                            generation=1, now="t1")
    assert same[0]["lastTransitionTime"] == "t0"


def test_a_condition_going_from_true_to_false_moves_its_transition_time():
    ready = merge_conditions([], [Condition("Ready", "True", "ImageReady")], generation=1,
                             now="t0")
    broken = merge_conditions(ready, [Condition("Ready", "False", "AzureError")],
                              generation=1, now="t1")
    assert broken[0]["lastTransitionTime"] == "t1"
    assert not is_true(broken, "Ready")


def test_malformed_existing_conditions_are_dropped_not_fatal():
    existing = _from_api([{"status": "True"}, {"type": 3, "status": "True"},
                          {"type": "SourceValid", "status": "True", "reason": "ok"}])
    merged = merge_conditions([*existing, "Ready", None],  # type: ignore[list-item]
                              [Condition("Ready", "True", "r")], generation=1, now="t")
    assert sorted(c["type"] for c in merged) == ["Ready", "SourceValid"]


def test_find_returns_the_condition_of_that_type_only():
    conditions = _from_api([{"type": "Ready", "status": "True"},
                            {"type": "SourceValid", "status": "False"},
                            {"type": "Paused", "status": "False"}])
    assert find(conditions, "SourceValid") == {"type": "SourceValid", "status": "False"}
    assert find(conditions, "Paused") == {"type": "Paused", "status": "False"}
    assert find(conditions, "Ready") == {"type": "Ready", "status": "True"}
    assert find(conditions, "Snapshot") is None
    assert find(["Ready", None], "Ready") is None  # type: ignore[list-item]


def test_only_status_true_is_true():
    conditions = _from_api([{"type": "Ready", "status": "True"},
                            {"type": "SourceValid", "status": "False"},
                            {"type": "Paused", "status": "Unknown"}])
    assert is_true(conditions, "Ready")
    assert not is_true(conditions, "SourceValid")
    assert not is_true(conditions, "Paused")
    assert not is_true(conditions, "Snapshot")
    assert not is_true(None, "Ready")
