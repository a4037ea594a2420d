"""Capture snapshots are long-running operations: wait, re-take when Failed (bounded), and
take again when one disappears."""

from test_models import SUB

from batch_image_operator.models.armid import parse_resource_id
from batch_image_operator.planning.sources import (
    SNAPSHOT_ATTEMPT_TAG,
    SnapshotStep,
    plan_snapshot,
    snapshot_body,
)

DISK = parse_resource_id(f"/subscriptions/{SUB}/resourceGroups/rg/providers/"
                         "Microsoft.Compute/disks/os")


def snap(state, attempt=None):
    tags = {SNAPSHOT_ATTEMPT_TAG: str(attempt)} if attempt else {}
    return {"tags": tags, "properties": {"provisioningState": state}}


def test_a_snapshot_is_waited_for_until_its_operation_succeeds():
    assert plan_snapshot("s", None, taken_before=False).step is SnapshotStep.TAKE
    assert plan_snapshot("s", snap("Updating"), taken_before=False).step is SnapshotStep.WAIT
    assert plan_snapshot("s", snap("Creating"), taken_before=False).step is SnapshotStep.WAIT
    assert plan_snapshot("s", snap("Succeeded"), taken_before=False).step is SnapshotStep.READY


def test_a_failed_snapshot_is_retaken_a_bounded_number_of_times():
    again = plan_snapshot("s", snap("Failed"), taken_before=True, max_attempts=3)
    assert (again.step, again.attempt) == (SnapshotStep.TAKE, 2)
    assert "Failed" in again.message and "attempt 2 of 3" in again.message
    assert snapshot_body(DISK, "westeurope", {}, again.attempt)["tags"][
        SNAPSHOT_ATTEMPT_TAG] == "2"
    third = plan_snapshot("s", snap("Failed", 2), taken_before=True, max_attempts=3)
    assert (third.step, third.attempt) == (SnapshotStep.TAKE, 3)
    last = plan_snapshot("s", snap("Failed", 3), taken_before=True, max_attempts=3)
    assert last.step is SnapshotStep.FAILED and "each of 3 attempts" in last.message


def test_a_snapshot_that_disappeared_is_taken_again_and_said_so():
    plan = plan_snapshot("img-os", None, taken_before=True)
    assert plan.step is SnapshotStep.TAKE and "disappeared" in plan.message
