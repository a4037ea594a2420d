"""Node counts come from Azure's JSON: anything but a plain integer is not a count.

Found by `make mutate` (planning/nodes.py): no test fed the summary a non-integer, so
loosening the check to `or` survived.
"""

from __future__ import annotations

from batch_image_operator.planning.nodes import summarize_node_counts


def test_counts_that_are_not_plain_integers_are_ignored() -> None:
    entry = {"dedicated": {"idle": 2, "running": True, "unusable": "3", "leaving": None},
             "lowPriority": {"idle": 1, "preempted": 1.5}}
    assert summarize_node_counts(entry) == {"idle": 3}
