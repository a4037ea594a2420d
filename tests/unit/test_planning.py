from test_models import SUB, image_spec, pool_spec

from batch_image_operator.models.batchpool import parse_batch_pool
from batch_image_operator.models.managedimage import parse_managed_image
from batch_image_operator.planning.images import (
    DeletionAction,
    ImageAction,
    desired_image_body,
    plan_deletion,
    plan_image,
)
from batch_image_operator.planning.pools import PoolAction, desired_pool_body, plan_pool

IMAGE_REF = {"id": f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/i"}


def observed_image(spec, state="Succeeded", **over):
    body = desired_image_body(spec)
    body["id"] = str(spec.image_id)
    body["properties"]["provisioningState"] = state
    body.update(over)
    return body


def observed_pool(spec, *, allocation="Steady", dedicated=None, **props):
    body = desired_pool_body(spec, IMAGE_REF)
    # Azure echoes timeouts in its own format and adds read-only fields.
    body["properties"]["scaleSettings"]["fixedScale"]["resizeTimeout"] = "PT20M00S"
    body["properties"].update({
        "allocationState": allocation, "provisioningState": "Succeeded",
        "currentDedicatedNodes": spec.fixed.target_dedicated if dedicated is None else dedicated,
        "currentLowPriorityNodes": 0, **props})
    return body


def test_image_create_wait_ready():
    spec = parse_managed_image("img", image_spec(), default_subscription=SUB)
    assert plan_image(spec, None).action is ImageAction.CREATE
    assert plan_image(spec, observed_image(spec, "Creating")).action is ImageAction.WAIT
    assert plan_image(spec, observed_image(spec)).action is ImageAction.READY


def test_image_source_change_is_immutable_not_rewritten():
    old = parse_managed_image("img", image_spec(), default_subscription=SUB)
    new_src = image_spec()
    new_src["source"]["snapshots"]["dataDisks"] = []
    new = parse_managed_image("img", new_src, default_subscription=SUB)
    plan = plan_image(new, observed_image(old))
    assert plan.action is ImageAction.IMMUTABLE
    assert "imageName" in plan.message


def test_image_tag_change_is_an_update():
    spec = parse_managed_image("img", image_spec(tags={"team": "hpc"}),
                               default_subscription=SUB)
    observed = observed_image(spec)
    observed["tags"] = {}
    assert plan_image(spec, observed).action is ImageAction.UPDATE


def test_deletion_plan():
    assert plan_deletion(policy="Delete", users=["p"], observed={}) is DeletionAction.BLOCKED
    assert plan_deletion(policy="Retain", users=[], observed={}) is DeletionAction.RETAIN
    assert plan_deletion(policy="Delete", users=[], observed=None) is DeletionAction.DONE
    deleting = {"properties": {"provisioningState": "Deleting"}}
    assert plan_deletion(policy="Delete", users=[], observed=deleting) is DeletionAction.WAIT
    assert plan_deletion(policy="Delete", users=[], observed={"properties": {}}) is \
        DeletionAction.DELETE


def test_pool_converged_means_no_write():
    spec = parse_batch_pool("p", pool_spec(), default_subscription=SUB)
    assert plan_pool(spec, IMAGE_REF, None).action is PoolAction.CREATE
    assert plan_pool(spec, IMAGE_REF, observed_pool(spec)).action is PoolAction.READY
    resizing = observed_pool(spec, allocation="Resizing", dedicated=0)
    assert plan_pool(spec, IMAGE_REF, resizing).action is PoolAction.WAIT


def test_pool_resize_is_a_patch_of_scale_only():
    old = parse_batch_pool("p", pool_spec(), default_subscription=SUB)
    new = parse_batch_pool("p", pool_spec(scale={"fixed": {"targetDedicatedNodes": 5}}),
                           default_subscription=SUB)
    plan = plan_pool(new, IMAGE_REF, observed_pool(old))
    assert plan.action is PoolAction.PATCH
    assert plan.body == {"properties": {"scaleSettings": {"fixedScale": {
        "targetDedicatedNodes": 5, "targetLowPriorityNodes": 0, "resizeTimeout": "PT20M"}}}}


def test_pool_resize_waits_while_resizing():
    old = parse_batch_pool("p", pool_spec(), default_subscription=SUB)
    new = parse_batch_pool("p", pool_spec(scale={"fixed": {"targetDedicatedNodes": 5}}),
                           default_subscription=SUB)
    plan = plan_pool(new, IMAGE_REF, observed_pool(old, allocation="Resizing"))
    assert plan.action is PoolAction.WAIT


def test_pool_vm_size_change_is_reported_not_written():
    old = parse_batch_pool("p", pool_spec(), default_subscription=SUB)
    new = parse_batch_pool("p", pool_spec(vmSize="Standard_F4s_v2"), default_subscription=SUB)
    plan = plan_pool(new, IMAGE_REF, observed_pool(old))
    assert plan.action is PoolAction.IMMUTABLE
    assert plan.body is None and "vmSize" in plan.message


def test_pool_steady_below_target_is_short():
    spec = parse_batch_pool("p", pool_spec(), default_subscription=SUB)
    assert plan_pool(spec, IMAGE_REF, observed_pool(spec, dedicated=1)).action is \
        PoolAction.SHORT
