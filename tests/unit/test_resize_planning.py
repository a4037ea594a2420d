from batch_image_operator.planning.resizes import ShortAction, backoff, plan_short

AF = [{"code": "AllocationFailed", "message": "There was an error ... Code: AllocationFailed"}]
# What a capped custom-image resize reports (Batch's timeout code, as azuresim sends it).
CAP = [{"code": "AllocationTimedout", "message": "allocation capped at 300 nodes"}]
STOPPED = [{"code": "ResizeStopped", "message": "Desired number of dedicated nodes could not "
            "be allocated due to a stop resize operation"}]


def test_short_resize_is_reissued_then_backs_off_then_gives_up():
    assert plan_short(errors=CAP, attempts=1, max_attempts=5, image_missing=False,
                      wait_left=0).action is ShortAction.REISSUE
    waiting = plan_short(errors=CAP, attempts=2, max_attempts=5, image_missing=False,
                         wait_left=4)
    assert waiting.action is ShortAction.WAIT and waiting.delay == 4
    done = plan_short(errors=CAP, attempts=5, max_attempts=5, image_missing=False, wait_left=0)
    assert done.action is ShortAction.EXHAUSTED and "5 resize attempts" in done.message


def test_allocation_failed_with_missing_image_is_diagnosed_not_retried():
    plan = plan_short(errors=AF, attempts=1, max_attempts=5, image_missing=True, wait_left=0)
    assert plan.action is ShortAction.IMAGE_MISSING
    assert "no longer exists" in plan.message and "AllocationFailed" in plan.message
    # With the image present, AllocationFailed is just another short resize.
    assert plan_short(errors=AF, attempts=1, max_attempts=5, image_missing=False,
                      wait_left=0).action is ShortAction.REISSUE


def test_backoff_doubles_up_to_a_cap():
    assert [backoff(n, 10, 60) for n in range(1, 7)] == [0, 10, 20, 40, 60, 60]


def test_a_stopped_resize_is_left_alone_until_the_spec_changes():
    first = plan_short(errors=STOPPED, attempts=1, max_attempts=5, image_missing=False,
                       wait_left=0, generation=3, stopped_generation=None)
    assert first.action is ShortAction.STOPPED and "until its spec changes" in first.message
    # Later passes at the same generation: still left alone, however often they come.
    assert plan_short(errors=STOPPED, attempts=1, max_attempts=5, image_missing=False,
                      wait_left=0, generation=3, stopped_generation=3).action \
        is ShortAction.STOPPED
    # The person edited the spec: resize again.
    assert plan_short(errors=STOPPED, attempts=1, max_attempts=5, image_missing=False,
                      wait_left=0, generation=4, stopped_generation=3).action \
        is ShortAction.REISSUE
