"""What to do about an Azure Batch pool, given its spec and what Azure reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..models.batchpool import BatchPoolSpec, duration_seconds
from ..models.ownership import Owner


class PoolAction(Enum):
    CREATE = "create"
    PATCH = "patch"
    WAIT = "wait"          # resizing, deleting, or a change queued behind a resize
    READY = "ready"
    SHORT = "short"        # steady but below target
    IMMUTABLE = "immutable"


@dataclass(frozen=True)
class PoolPlan:
    action: PoolAction
    body: dict[str, Any] | None = None
    message: str = ""


def _scale_settings(spec: BatchPoolSpec) -> dict[str, Any]:
    if spec.fixed is not None:
        fixed: dict[str, Any] = {
            "targetDedicatedNodes": spec.fixed.target_dedicated,
            "targetLowPriorityNodes": spec.fixed.target_low_priority,
            "resizeTimeout": spec.fixed.resize_timeout,
        }
        if spec.fixed.node_deallocation_option:
            fixed["nodeDeallocationOption"] = spec.fixed.node_deallocation_option
        return {"fixedScale": fixed}
    assert spec.auto_scale is not None
    return {"autoScale": {"formula": capped_formula(spec),
                          "evaluationInterval": spec.auto_scale.evaluation_interval}}


def capped_formula(spec: BatchPoolSpec) -> str:
    """The autoscale formula, ending with the ceiling the spec declares: Batch evaluates
    statements in order, so the last assignment wins and the pool never exceeds it."""
    auto = spec.auto_scale
    assert auto is not None
    formula = auto.formula.rstrip()
    if auto.max_dedicated is None and auto.max_low_priority is None:
        return formula
    if not formula.endswith(";"):
        formula += ";"
    caps = [("TargetDedicatedNodes", auto.max_dedicated or 0),
            ("TargetLowPriorityNodes", auto.max_low_priority or 0)]
    return formula + "".join(f"\n${name} = min(${name}, {cap});" for name, cap in caps)


def _start_task(spec: BatchPoolSpec) -> dict[str, Any] | None:
    st = spec.start_task
    if not st:
        return None
    task: dict[str, Any] = {
        "commandLine": st["commandLine"],
        "waitForSuccess": bool(st.get("waitForSuccess", True)),
        "userIdentity": {"autoUser": {"scope": "Pool",
                                      "elevationLevel": st.get("elevationLevel", "NonAdmin")}},
    }
    if "maxTaskRetryCount" in st:
        task["maxTaskRetryCount"] = st["maxTaskRetryCount"]
    if st.get("environmentSettings"):
        task["environmentSettings"] = [dict(e) for e in st["environmentSettings"]]
    if st.get("resourceFiles"):
        task["resourceFiles"] = [dict(f) for f in st["resourceFiles"]]
    return task


def desired_pool_body(spec: BatchPoolSpec, image_reference: Mapping[str, Any],
                      owner: Owner | None = None) -> dict[str, Any]:
    """The pool as the spec wants it, carrying ``owner``'s mark among its metadata."""
    props: dict[str, Any] = {
        "vmSize": spec.vm_size,
        "taskSlotsPerNode": spec.task_slots_per_node,
        "interNodeCommunication": spec.inter_node_communication,
        "deploymentConfiguration": {"virtualMachineConfiguration": {
            "imageReference": dict(image_reference),
            "nodeAgentSkuId": spec.node_agent_sku_id,
        }},
        "scaleSettings": _scale_settings(spec),
    }
    if spec.display_name:
        props["displayName"] = spec.display_name
    start_task = _start_task(spec)
    if start_task:
        props["startTask"] = start_task
    metadata = [{"name": n, "value": v} for n, v in spec.metadata]
    if owner is not None:
        metadata += owner.metadata()
    if metadata:
        props["metadata"] = metadata
    if spec.subnet_id or spec.inbound_nat_pools:
        network: dict[str, Any] = {}
        if spec.subnet_id:
            network["subnetId"] = str(spec.subnet_id)
        if spec.inbound_nat_pools:
            network["endpointConfiguration"] = {
                "inboundNatPools": [dict(p) for p in spec.inbound_nat_pools]}
        props["networkConfiguration"] = network
    return {"properties": props}


def _lower(value: Any) -> str:
    return str(value or "").lower()


def _image_key(ref: Mapping[str, Any]) -> tuple[str, ...]:
    if ref.get("id"):
        return (_lower(ref["id"]),)
    return tuple(_lower(ref.get(k)) for k in ("publisher", "offer", "sku", "version"))


def _scale_key(scale: Mapping[str, Any]) -> tuple[Any, ...]:
    if scale.get("fixedScale"):
        f = scale["fixedScale"]
        return ("fixed", int(f.get("targetDedicatedNodes") or 0),
                int(f.get("targetLowPriorityNodes") or 0),
                duration_seconds(str(f.get("resizeTimeout") or "PT15M")))
    if scale.get("autoScale"):
        a = scale["autoScale"]
        return ("auto", str(a.get("formula", "")).strip(),
                duration_seconds(str(a.get("evaluationInterval") or "PT15M")))
    return ()


def _covers(have: Any, want: Any) -> bool:
    """True when ``have`` holds every value ``want`` sets; Azure may add defaults."""
    if isinstance(want, Mapping):
        return isinstance(have, Mapping) and all(_covers(have.get(k), v) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and len(have) == len(want) and all(
            _covers(h, w) for h, w in zip(have, want, strict=True))
    return bool(have == want)


def immutable_differences(desired: Mapping[str, Any], observed: Mapping[str, Any]) -> list[str]:
    want, have = desired["properties"], observed.get("properties") or {}
    diffs = []
    if _lower(want["vmSize"]) != _lower(have.get("vmSize")):
        diffs.append("vmSize")
    wvm = want["deploymentConfiguration"]["virtualMachineConfiguration"]
    hvm = (have.get("deploymentConfiguration") or {}).get("virtualMachineConfiguration") or {}
    if _image_key(wvm["imageReference"]) != _image_key(hvm.get("imageReference") or {}):
        diffs.append("image")
    if _lower(wvm["nodeAgentSkuId"]) != _lower(hvm.get("nodeAgentSkuId")):
        diffs.append("nodeAgentSkuId")
    if int(have.get("taskSlotsPerNode") or 1) != want["taskSlotsPerNode"]:
        diffs.append("taskSlotsPerNode")
    return diffs


def mutable_patch(desired: Mapping[str, Any], observed: Mapping[str, Any]) -> dict[str, Any]:
    """The properties a PATCH must send; empty when Azure already matches."""
    want, have = desired["properties"], observed.get("properties") or {}
    patch: dict[str, Any] = {}
    if _scale_key(want["scaleSettings"]) != _scale_key(have.get("scaleSettings") or {}):
        patch["scaleSettings"] = want["scaleSettings"]
    want_task, have_task = want.get("startTask"), have.get("startTask")
    if (want_task is None) != (not have_task) or (
            want_task is not None and not _covers(have_task, want_task)):
        patch["startTask"] = want_task or {}
    want_meta = {m["name"]: m["value"] for m in want.get("metadata") or []}
    have_meta = {m.get("name"): m.get("value") for m in have.get("metadata") or []}
    if want_meta != have_meta:
        patch["metadata"] = want.get("metadata") or []
    return patch


def at_target(spec: BatchPoolSpec, observed: Mapping[str, Any]) -> bool:
    props = observed.get("properties") or {}
    if _lower(props.get("allocationState")) != "steady":
        return False
    if spec.fixed is None:
        return True
    return (int(props.get("currentDedicatedNodes") or 0) == spec.fixed.target_dedicated
            and int(props.get("currentLowPriorityNodes") or 0) == spec.fixed.target_low_priority)


def plan_pool(spec: BatchPoolSpec, image_reference: Mapping[str, Any],
              observed: Mapping[str, Any] | None, owner: Owner | None = None) -> PoolPlan:
    desired = desired_pool_body(spec, image_reference, owner)
    if observed is None:
        return PoolPlan(PoolAction.CREATE, desired, "creating pool")
    props = observed.get("properties") or {}
    if _lower(props.get("provisioningState")) == "deleting":
        return PoolPlan(PoolAction.WAIT, message="the Azure pool is being deleted")
    diffs = immutable_differences(desired, observed)
    if diffs:
        return PoolPlan(PoolAction.IMMUTABLE, message=(
            f"{', '.join(diffs)} cannot change on an existing Batch pool; create a new "
            "BatchPool (or a new spec.poolId) and delete this one"))
    patch = mutable_patch(desired, observed)
    steady = _lower(props.get("allocationState")) == "steady"
    if patch:
        if "scaleSettings" in patch and not steady:
            return PoolPlan(PoolAction.WAIT,
                            message="pool is resizing; the new scale applies once it is steady")
        return PoolPlan(PoolAction.PATCH, {"properties": patch}, "updating pool")
    if at_target(spec, observed):
        return PoolPlan(PoolAction.READY)
    if not steady:
        state = props.get("allocationState")
        return PoolPlan(PoolAction.WAIT, message=f"allocation state is {state}")
    return PoolPlan(PoolAction.SHORT, message="pool is steady below its target")


def resize_errors(observed: Mapping[str, Any]) -> list[dict[str, str]]:
    status = (observed.get("properties") or {}).get("resizeOperationStatus") or {}
    return [{"code": str(e.get("code", "")), "message": str(e.get("message", ""))}
            for e in status.get("errors") or []]
