from batch_image_operator.planning.nodes import summarize_node_counts, unusable_nodes


def test_counts_are_summed_over_dedicated_and_low_priority():
    counts = summarize_node_counts({
        "poolId": "p",
        "dedicated": {"idle": 3, "unusable": 1, "startTaskFailed": 0, "total": 4},
        "lowPriority": {"idle": 2, "startTaskFailed": 2, "preempted": 1, "total": 5},
    })
    assert counts["idle"] == 5 and counts["total"] == 9
    assert unusable_nodes(counts) == 3


def test_missing_entry_is_empty():
    assert summarize_node_counts(None) == {}
    assert unusable_nodes({}) == 0
