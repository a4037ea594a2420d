"""Which image a BatchPool boots from, what it demands of that image's lineage, and
what its status mirrors of Azure (pure).

The pool names its image one of three ways: a ManagedImage in its namespace (resolved
through the image's status, so it waits until that image is Ready), an image id, or a
Marketplace image. Custom-image node limits are counted per lineage: the images that
share the same image or the same snapshots; Marketplace images have none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..models.armid import InvalidResourceId, ResourceId, parse_resource_id
from ..models.batchpool import BatchPoolSpec
from ..models.conditions import FALSE, TRUE, Condition
from ..models.reasons import Reason
from ..models.references import ImageInfo
from .limits import PoolDemand, nat_port_capacity
from .pools import resize_errors


def resolve_image(spec: BatchPoolSpec, image: ImageInfo | None
                  ) -> tuple[dict[str, Any] | None, Condition]:
    """The imageReference to use, or why there is none yet (``ImageResolved``)."""
    src = spec.image
    if src.managed_image_ref is not None:
        ref = src.managed_image_ref
        if image is None:
            return None, Condition("ImageResolved", FALSE, Reason.IMAGE_NOT_FOUND,
                                   f"ManagedImage {ref} does not exist in this namespace")
        if image.deleting:
            return None, Condition("ImageResolved", FALSE, Reason.IMAGE_DELETING,
                                   f"ManagedImage {ref} is being deleted")
        if not image.ready or not image.effective_id:
            return None, Condition("ImageResolved", FALSE, Reason.IMAGE_NOT_READY,
                                   f"waiting for ManagedImage {ref} to be Ready")
        return {"id": image.effective_id}, Condition(
            "ImageResolved", TRUE, Reason.IMAGE_READY, image.effective_id)
    if src.image_id is not None:
        return {"id": str(src.image_id)}, Condition("ImageResolved", TRUE, Reason.IMAGE_ID,
                                                    str(src.image_id))
    assert src.marketplace is not None
    publisher, offer, sku, version = src.marketplace
    return ({"publisher": publisher, "offer": offer, "sku": sku, "version": version},
            Condition("ImageResolved", TRUE, Reason.MARKETPLACE,
                      f"{publisher}:{offer}:{sku}:{version}"))


def image_resource_id(image_ref: Mapping[str, Any] | None) -> ResourceId | None:
    """The custom image's id, for the policy gate (None: Marketplace, or not resolved)."""
    try:
        return parse_resource_id(str(image_ref["id"])) if image_ref and image_ref.get("id") \
            else None
    except InvalidResourceId:
        return None


def lineage(spec: BatchPoolSpec, image: ImageInfo | None) -> frozenset[str]:
    if spec.image.managed_image_ref is not None:
        return image.lineage if image is not None else frozenset()
    if spec.image.image_id is not None:
        return frozenset({str(spec.image.image_id).lower()})
    return frozenset()  # Marketplace images carry no custom-image limit


def demand(spec: BatchPoolSpec, namespace: str | None, name: str, uid: str,
           image: ImageInfo | None) -> PoolDemand:
    dedicated, low = spec.node_demand
    return PoolDemand(namespace=namespace or "", name=name, uid=uid,
                      lineage=lineage(spec, image), dedicated=dedicated, low_priority=low,
                      nat_port_capacity=nat_port_capacity(spec.inbound_nat_pools))


def mirrored_status(spec: BatchPoolSpec, observed: Mapping[str, Any] | None,
                    image_ref: Mapping[str, Any] | None) -> dict[str, Any]:
    """The status fields that mirror the Azure pool (``observed``; None: none seen)."""
    status: dict[str, Any] = {"poolId": spec.pool_id}
    if image_ref is not None and image_ref.get("id"):
        status["imageId"] = image_ref["id"]
    if observed is None:
        return status
    props = observed.get("properties") or {}
    vm = (props.get("deploymentConfiguration") or {}).get("virtualMachineConfiguration") or {}
    if (vm.get("imageReference") or {}).get("id"):
        status["imageId"] = vm["imageReference"]["id"]
    status.update({
        "resourceId": observed.get("id") or str(spec.resource_id),
        "provisioningState": props.get("provisioningState", ""),
        "allocationState": props.get("allocationState", ""),
        "currentDedicatedNodes": int(props.get("currentDedicatedNodes") or 0),
        "currentLowPriorityNodes": int(props.get("currentLowPriorityNodes") or 0),
        "resizeErrors": resize_errors(observed),
    })
    return status
