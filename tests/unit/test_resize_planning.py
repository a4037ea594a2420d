from batch_image_operator.planning.resizes import (
    RESIZE_AGAIN_ANNOTATION,
    ShortAction,
    backoff,
    plan_short,
    resize_again_request,
    resize_again_used_up,
)

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


def test_a_new_resize_again_value_overrides_a_stop_once_with_a_fresh_count():
    # The person asks again without editing the spec: resize, from attempt 1 and at once,
    # even after attempts ran out and while a backoff wait was still running.
    asked = plan_short(errors=STOPPED, attempts=5, max_attempts=5, image_missing=False,
                       wait_left=30, generation=3, stopped_generation=3, asked_again=True)
    assert asked.action is ShortAction.REISSUE and "attempt 2 of 5" in asked.message
    stopped = plan_short(errors=STOPPED, attempts=1, max_attempts=5, image_missing=False,
                         wait_left=0, generation=3, stopped_generation=3)
    assert RESIZE_AGAIN_ANNOTATION in stopped.message  # the stop says how to ask again


def test_a_resize_again_value_is_a_request_until_its_digest_is_recorded():
    annotations = {RESIZE_AGAIN_ANNOTATION: "2026-12-02T23:50:00Z"}
    digest = resize_again_request(annotations, None)
    assert digest is not None and len(digest) == 16  # fits the status field (maxLength 16)
    assert resize_again_request(annotations, digest) is None  # already acted on
    changed = resize_again_request({RESIZE_AGAIN_ANNOTATION: "2026-12-03T08:00:00Z"}, digest)
    assert changed is not None and changed != digest
    assert resize_again_request({}, None) is None
    # A value far longer than any status field still yields a short digest.
    assert len(resize_again_request({RESIZE_AGAIN_ANNOTATION: "x" * 100_000}, None) or "") == 16


def test_a_resize_again_request_is_used_up_only_when_acted_on_or_nothing_is_stopped():
    assert resize_again_used_up(short=True, errors=STOPPED)        # resized now
    assert resize_again_used_up(short=False, errors=[])            # nothing to resume
    assert resize_again_used_up(short=False, errors=CAP)
    # A drift fix on a stopped pool: kept for the pass that resizes it.
    assert not resize_again_used_up(short=False, errors=STOPPED)
