"""BatchPool spec, parsed and validated without I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .armid import (
    InvalidResourceId,
    ResourceId,
    is_guid,
    parse_resource_id,
    pool_id,
    valid_resource_group,
)
from .errors import FieldError, SpecInvalid
from .ownership import is_reserved

_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
_POOL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$")
DEFAULT_RESIZE_TIMEOUT = "PT20M"  # the guide: 20-30 minutes for custom images


@dataclass(frozen=True)
class ImageSource:
    managed_image_ref: str | None = None
    image_id: ResourceId | None = None
    marketplace: tuple[str, str, str, str] | None = None  # publisher, offer, sku, version


@dataclass(frozen=True)
class FixedScale:
    """spec.scale.fixed: the node targets and how long one resize may take (ISO 8601)."""

    target_dedicated: int
    target_low_priority: int
    resize_timeout: str
    node_deallocation_option: str | None = None


@dataclass(frozen=True)
class AutoScale:
    formula: str
    evaluation_interval: str
    # The node ceiling the pool declares: counted toward the custom-image lineage limit,
    # and the formula is capped at it. None: not declared (allowed for Marketplace images).
    max_dedicated: int | None = None
    max_low_priority: int | None = None


@dataclass(frozen=True)
class BatchPoolSpec:
    subscription_id: str
    resource_group: str
    account_name: str
    pool_id: str
    vm_size: str
    node_agent_sku_id: str
    display_name: str | None
    image: ImageSource
    fixed: FixedScale | None
    auto_scale: AutoScale | None
    task_slots_per_node: int
    inter_node_communication: str
    start_task: Mapping[str, Any] | None
    metadata: tuple[tuple[str, str], ...]
    subnet_id: ResourceId | None
    inbound_nat_pools: tuple[Mapping[str, Any], ...]
    deletion_policy: str

    @property
    def resource_id(self) -> ResourceId:
        return pool_id(self.subscription_id, self.resource_group, self.account_name, self.pool_id)

    @property
    def account_id(self) -> ResourceId:
        return ResourceId(self.subscription_id, self.resource_group, "Microsoft.Batch",
                          (("batchAccounts", self.account_name),))

    @property
    def custom_image(self) -> bool:
        return self.image.marketplace is None

    @property
    def node_demand(self) -> tuple[int, int]:
        """(dedicated, low-priority) nodes the pool may hold: its fixed targets, or the
        ceiling an autoscale pool declares."""
        if self.fixed is not None:
            return self.fixed.target_dedicated, self.fixed.target_low_priority
        if self.auto_scale is not None:
            return self.auto_scale.max_dedicated or 0, self.auto_scale.max_low_priority or 0
        return 0, 0


def duration_seconds(value: str) -> int | None:
    """Seconds of an ISO 8601 time duration such as PT20M or PT15M00S."""
    match = _DURATION.match(value or "")
    if not match or value == "PT":
        return None
    h, m, s = (int(g) if g else 0 for g in match.groups())
    return h * 3600 + m * 60 + s


def _int(raw: Mapping[str, Any], key: str, default: int, lo: int, hi: int, path: str,
         errors: list[FieldError]) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        errors.append(FieldError(f"{path}.{key}", f"must be an integer between {lo} and {hi}"))
        return default
    return value


def _duration(raw: Mapping[str, Any], key: str, default: str, path: str,
              errors: list[FieldError], minimum: int = 0) -> str:
    value = raw.get(key, default)
    seconds = duration_seconds(value) if isinstance(value, str) else None
    if seconds is None:
        errors.append(FieldError(f"{path}.{key}", "must be an ISO 8601 duration such as PT20M"))
        return default
    if seconds < minimum:
        errors.append(FieldError(f"{path}.{key}",
                                 f"Batch requires at least {minimum // 60} minutes"))
    return str(value)


def _parse_image(raw: Any, errors: list[FieldError]) -> ImageSource:
    if not isinstance(raw, Mapping):
        errors.append(FieldError("spec.image", "Required value"))
        return ImageSource()
    present = [k for k in ("managedImageRef", "id", "marketplace") if raw.get(k) is not None]
    if len(present) != 1:
        errors.append(FieldError("spec.image",
                                 "exactly one of managedImageRef, id or marketplace must be set"))
        return ImageSource()
    if present[0] == "managedImageRef":
        ref = raw["managedImageRef"]
        name = ref.get("name") if isinstance(ref, Mapping) else None
        if not isinstance(name, str) or not name:
            errors.append(FieldError("spec.image.managedImageRef.name", "Required value"))
            return ImageSource()
        return ImageSource(managed_image_ref=name)
    if present[0] == "id":
        try:
            rid = parse_resource_id(str(raw["id"]), namespace="Microsoft.Compute")
        except InvalidResourceId as exc:
            errors.append(FieldError("spec.image.id", str(exc)))
            return ImageSource()
        if rid.types not in {("images",), ("galleries", "images"),
                             ("galleries", "images", "versions")}:
            errors.append(FieldError("spec.image.id",
                                     "must be a managed image or gallery image (version) id"))
            return ImageSource()
        return ImageSource(image_id=rid)
    mp = raw["marketplace"]
    if not isinstance(mp, Mapping) or not all(
            isinstance(mp.get(k), str) and mp.get(k) for k in ("publisher", "offer", "sku")):
        errors.append(FieldError("spec.image.marketplace", "publisher, offer and sku are required"))
        return ImageSource()
    return ImageSource(marketplace=(mp["publisher"], mp["offer"], mp["sku"],
                                    str(mp.get("version") or "latest")))


def parse_batch_pool(name: str, spec: Mapping[str, Any], *,
                     default_subscription: str) -> BatchPoolSpec:
    """Return the validated spec or raise SpecInvalid listing every problem."""
    errors: list[FieldError] = []
    account = spec.get("account") if isinstance(spec.get("account"), Mapping) else None
    sub = rg = acct = ""
    if account is None:
        errors.append(FieldError("spec.account", "Required value"))
    else:
        sub = str(account.get("subscriptionId") or default_subscription)
        rg = str(account.get("resourceGroup") or "")
        acct = str(account.get("name") or "")
        if not is_guid(sub):
            errors.append(FieldError("spec.account.subscriptionId", "must be a GUID"))
        if not valid_resource_group(rg):
            errors.append(FieldError("spec.account.resourceGroup", "invalid resource group name"))
        if not _ACCOUNT.match(acct):
            errors.append(FieldError("spec.account.name",
                                     "3-24 lowercase letters and digits required"))
    pid = str(spec.get("poolId") or name)
    if not _POOL_ID.match(pid):
        errors.append(FieldError("spec.poolId", "1-64 letters, digits, hyphens or underscores"))
    vm_size = spec.get("vmSize")
    if not isinstance(vm_size, str) or not re.match(r"^[A-Za-z0-9_]{1,64}$", vm_size):
        errors.append(FieldError("spec.vmSize", "Required value"))
        vm_size = ""
    sku = spec.get("nodeAgentSkuId")
    if not isinstance(sku, str) or not sku:
        errors.append(FieldError("spec.nodeAgentSkuId", "Required value"))
        sku = ""
    image = _parse_image(spec.get("image"), errors)

    scale = spec.get("scale")
    fixed: FixedScale | None = None
    auto: AutoScale | None = None
    if not isinstance(scale, Mapping) or (scale.get("fixed") is None) == (
            scale.get("autoScale") is None):
        errors.append(FieldError("spec.scale", "exactly one of fixed or autoScale must be set"))
    elif isinstance(scale.get("fixed"), Mapping):
        raw = scale["fixed"]
        path = "spec.scale.fixed"
        fixed = FixedScale(
            target_dedicated=_int(raw, "targetDedicatedNodes", 0, 0, 2500, path, errors),
            target_low_priority=_int(raw, "targetLowPriorityNodes", 0, 0, 1000, path, errors),
            resize_timeout=_duration(raw, "resizeTimeout", DEFAULT_RESIZE_TIMEOUT, path, errors,
                                     minimum=300),
            node_deallocation_option=raw.get("nodeDeallocationOption"),
        )
    elif isinstance(scale.get("autoScale"), Mapping):
        raw = scale["autoScale"]
        formula = raw.get("formula")
        if not isinstance(formula, str) or not formula.strip():
            errors.append(FieldError("spec.scale.autoScale.formula", "Required value"))
            formula = ""
        path = "spec.scale.autoScale"
        ceilings = [(_int(raw, key, 0, 0, hi, path, errors) if raw.get(key) is not None
                     else None) for key, hi in (("maxDedicatedNodes", 2500),
                                                ("maxLowPriorityNodes", 1000))]
        auto = AutoScale(formula, _duration(raw, "evaluationInterval", "PT15M", path, errors,
                                            minimum=300), ceilings[0], ceilings[1])
    else:
        # `fixed: 3` (not an object) would otherwise pass as a pool with no scale at all,
        # counted as 0 nodes in its lineage.
        kind = "fixed" if scale.get("fixed") is not None else "autoScale"
        errors.append(FieldError(f"spec.scale.{kind}", "must be an object"))

    slots = _int(spec, "taskSlotsPerNode", 1, 1, 256, "spec", errors)
    inc = str(spec.get("interNodeCommunication") or "Disabled")
    if inc not in ("Enabled", "Disabled"):
        errors.append(FieldError("spec.interNodeCommunication", "Enabled or Disabled"))
    policy = str(spec.get("deletionPolicy") or "Delete")
    if policy not in ("Delete", "Retain"):
        errors.append(FieldError("spec.deletionPolicy", "Delete or Retain"))
    metadata = tuple((str(m.get("name")), str(m.get("value", "")))
                     for m in spec.get("metadata") or [] if isinstance(m, Mapping))
    for key, _ in metadata:
        if is_reserved(key):
            errors.append(FieldError("spec.metadata", (
                f"{key!r}: names starting with batchimage.dev are reserved for the "
                "operator's owner mark")))
    network = spec.get("network") if isinstance(spec.get("network"), Mapping) else {}
    assert isinstance(network, Mapping)
    subnet: ResourceId | None = None
    if network.get("subnetId") is not None:
        try:
            subnet = parse_resource_id(str(network["subnetId"]), namespace="Microsoft.Network",
                                       types=("virtualNetworks", "subnets"))
        except InvalidResourceId as exc:
            errors.append(FieldError("spec.network.subnetId", str(exc)))
    nat_pools = tuple(p for p in network.get("inboundNatPools") or [] if isinstance(p, Mapping))
    start_task = spec.get("startTask") if isinstance(spec.get("startTask"), Mapping) else None
    if image.image_id is not None and sub and \
            image.image_id.subscription_id.lower() != sub.lower():
        # The guide: the image must be in the Batch account's subscription.
        errors.append(FieldError("spec.image.id",
                                 "the image must be in the Batch account's subscription"))
    if auto is not None and image.marketplace is None and (image.managed_image_ref or
            image.image_id) and auto.max_dedicated is None and auto.max_low_priority is None:
        errors.append(FieldError("spec.scale.autoScale", (
            "an autoscale pool on a custom image must declare its node ceiling "
            "(maxDedicatedNodes and/or maxLowPriorityNodes): it counts toward the image "
            "lineage's 2,500 dedicated / 1,000 low-priority limit")))
    if errors:
        raise SpecInvalid(errors)
    return BatchPoolSpec(
        subscription_id=sub, resource_group=rg, account_name=acct, pool_id=pid,
        vm_size=vm_size, node_agent_sku_id=sku,
        display_name=spec.get("displayName") if isinstance(spec.get("displayName"), str) else None,
        image=image, fixed=fixed, auto_scale=auto, task_slots_per_node=slots,
        inter_node_communication=inc, start_task=start_task, metadata=metadata,
        subnet_id=subnet, inbound_nat_pools=nat_pools,
        deletion_policy=policy,
    )
