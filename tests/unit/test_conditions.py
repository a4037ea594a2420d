from batch_image_operator.models.conditions import Condition, is_true, merge_conditions


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
