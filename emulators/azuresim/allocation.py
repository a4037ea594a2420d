"""Pool node allocation in simulated time.

A resize moves the current node counts linearly from where they were to the resize's
*achievable* counts over ``allocation_seconds``; then the pool is Steady. The achievable
counts fall short of the target (with resize errors) when the pool's custom image has
been deleted, or when a custom-image resize asks for more nodes than the per-resize cap.
"""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING, Any

from .arm.ids import parse_id

if TYPE_CHECKING:
    from .sim import Sim
    from .store import Record

POOLS = "Microsoft.Batch/batchAccounts/pools"
CUSTOM_IMAGE_TYPES = {
    "Microsoft.Compute/images",
    "Microsoft.Compute/galleries/images",
    "Microsoft.Compute/galleries/images/versions",
}
MAX_CUSTOM_DEDICATED = 2500
MAX_CUSTOM_LOW_PRIORITY = 1000
ALLOCATION_FAILED = (
    "There was an error encountered while performing the last resize on the pool. "
    "Please try resizing the pool again. Code: AllocationFailed"
)
RESIZE_STOPPED = "ResizeStopped"
_DEFAULT_DEALLOCATION = "Requeue"
_DURATION_RE = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> float | None:
    """ISO 8601 duration in seconds: ``PT15M`` and the SDK's ``PT15M00S`` alike."""
    match = _DURATION_RE.match(text.strip().upper())
    if not match or text.strip().upper() in ("P", "PT"):
        return None
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    return parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]


def format_duration(seconds: float) -> str:
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    out = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return out + (f"{secs}S" if secs or out == "PT" else "")


def image_id(pool: Record) -> str | None:
    ref = (
        pool["properties"]
        .get("deploymentConfiguration", {})
        .get("virtualMachineConfiguration", {})
        .get("imageReference", {})
    )
    value = ref.get("id")
    return str(value) if value else None


def custom_image(pool: Record) -> str | None:
    """The pool's image id when it is a custom (managed or gallery) image."""
    value = image_id(pool)
    parsed = parse_id(value) if value else None
    return str(value) if parsed and parsed.type in CUSTOM_IMAGE_TYPES else None


def current(pool: Record) -> tuple[int, int]:
    props = pool["properties"]
    return int(props.get("currentDedicatedNodes", 0)), int(props.get("currentLowPriorityNodes", 0))


def target(pool: Record) -> tuple[int, int]:
    """What the pool is heading for (the last resize's target, else its current counts)."""
    status = pool["properties"].get("resizeOperationStatus")
    if status:
        return int(status.get("targetDedicatedNodes", 0)), int(
            status.get("targetLowPriorityNodes", 0)
        )
    return current(pool)


def start_resize(
    sim: Sim,
    pool: Record,
    dedicated: int,
    low_priority: int,
    resize_timeout: str,
    deallocation: str | None = None,
) -> None:
    settle_pool(sim, pool)
    now = sim.clock.now()
    cur_d, cur_l = current(pool)
    final_d, final_l = dedicated, low_priority
    errors: list[dict[str, Any]] = []
    growth = max(0, dedicated - cur_d) + max(0, low_priority - cur_l)
    image = custom_image(pool)
    if growth and image and sim.store.get(image) is None:
        # Scale-up needs the image: nodes that already exist stay, new ones cannot boot.
        final_d, final_l = min(dedicated, cur_d), min(low_priority, cur_l)
        errors.append(
            {
                "code": "AllocationFailed",
                "message": ALLOCATION_FAILED,
                "details": [{"code": "Reason", "message": f"The image '{image}' was not found."}],
            }
        )
    elif image and growth > sim.settings.custom_image_resize_cap:
        # Large custom-image pools need several resizes to reach their target.
        budget = sim.settings.custom_image_resize_cap
        add_d = min(max(0, dedicated - cur_d), budget)
        add_l = min(max(0, low_priority - cur_l), budget - add_d)
        final_d = cur_d + add_d if dedicated > cur_d else dedicated
        final_l = cur_l + add_l if low_priority > cur_l else low_priority
        errors.append(
            {
                "code": "AllocationTimedout",
                "message": "Desired number of dedicated nodes could not be allocated as the "
                "resize timeout was reached",
                "details": [
                    {
                        "code": "ResizeCap",
                        "message": f"At most {budget} custom-image nodes are added per resize.",
                    }
                ],
            }
        )
    sim.allocating[pool["id"].lower()] = 0.0  # settle it on the next request
    pool["sys"]["resize"] = {
        "active": True,
        "start": now,
        "end": now + sim.settings.allocation_seconds,
        "from": [cur_d, cur_l],
        "final": [final_d, final_l],
        "errors": errors,
    }
    props = pool["properties"]
    props["allocationState"] = "Resizing"
    props["allocationStateTransitionTime"] = sim.clock.iso(now)
    status: dict[str, Any] = {
        "targetDedicatedNodes": dedicated,
        "targetLowPriorityNodes": low_priority,
        "resizeTimeout": resize_timeout,
        "startTime": sim.clock.iso(now),
    }
    # Batch reports the option in force, defaulting to Requeue.
    status["nodeDeallocationOption"] = deallocation or _DEFAULT_DEALLOCATION
    props["resizeOperationStatus"] = status
    bump(pool)
    sim.store.touch()


def stop_resize(sim: Sim, pool: Record) -> None:
    settle_pool(sim, pool)
    resize = pool["sys"].get("resize")
    if not resize or not resize["active"]:
        return
    now = sim.clock.now()
    # The target stays what it was; the stop is recorded as the resize's error.
    resize.update(active=False, final=list(current(pool)), end=now, errors=_stopped(pool))
    pool["properties"]["allocationState"] = "Stopping"
    pool["properties"]["allocationStateTransitionTime"] = sim.clock.iso(now)
    # Stopping is brief: nodes being allocated are let go, then the pool is Steady.
    sim.allocating[pool["id"].lower()] = 0.0
    pool["sys"]["stoppingUntil"] = now + min(
        sim.settings.lro_seconds, sim.settings.allocation_seconds
    )
    bump(pool)
    sim.store.touch()


def _stopped(pool: Record) -> list[dict[str, Any]]:
    """The error a stopped resize leaves (as Batch words it), for each kind of node it
    fell short on."""
    status = pool["properties"].get("resizeOperationStatus") or {}
    cur_d, cur_l = current(pool)
    kinds = [kind for kind, want, have in (
        ("dedicated", int(status.get("targetDedicatedNodes", 0)), cur_d),
        ("low priority", int(status.get("targetLowPriorityNodes", 0)), cur_l)) if want > have]
    return [
        {
            "code": RESIZE_STOPPED,
            "message": f"Desired number of {kind} nodes could not be allocated due to a stop "
            "resize operation",
        }
        for kind in kinds or ["dedicated"]
    ]


def settle(sim: Sim) -> None:
    now = sim.clock.now()
    for key in list(sim.allocating):
        pool = sim.store.get(key)
        if pool is not None and now < sim.allocating[key]:
            continue  # nothing about it can have changed yet
        if pool is not None:
            settle_pool(sim, pool)
        if pool is None or not (pool["sys"].get("stoppingUntil")
                                or (pool["sys"].get("resize") or {}).get("active")):
            del sim.allocating[key]
        else:
            sim.allocating[key] = next_change(pool)


def next_change(pool: Record) -> float:
    """When the pool's state next changes on its own: its next node count step, the end
    of its resize, or the end of its stop (settling earlier changes nothing)."""
    sys = pool["sys"]
    times = [sys["stoppingUntil"]] if sys.get("stoppingUntil") is not None else []
    resize = sys.get("resize")
    if resize and resize["active"]:
        span = max(resize["end"] - resize["start"], 1e-9)
        times.append(resize["end"])
        for start, final, now_at in zip(resize["from"], resize["final"], current(pool),
                                        strict=True):
            steps, done = abs(final - start), abs(now_at - start)
            if done < steps:
                times.append(resize["start"] + span * (done + 1) / steps)
    return min(times, default=0.0)


def settle_pool(sim: Sim, pool: Record) -> None:
    now = sim.clock.now()
    props = pool["properties"]
    stopping = pool["sys"].get("stoppingUntil")
    if stopping is not None and now >= stopping:
        del pool["sys"]["stoppingUntil"]
        props["allocationState"] = "Steady"
        props["allocationStateTransitionTime"] = sim.clock.iso(stopping)
        resize = pool["sys"].get("resize") or {}
        if resize.get("errors") and props.get("resizeOperationStatus"):
            props["resizeOperationStatus"]["errors"] = resize["errors"]
        bump(pool)
        sim.store.touch()
    resize = pool["sys"].get("resize")
    if not resize or not resize["active"]:
        return
    span = max(resize["end"] - resize["start"], 1e-9)
    fraction = min(1.0, max(0.0, (now - resize["start"]) / span))
    counts = [
        start + int((final - start) * fraction)
        for start, final in zip(resize["from"], resize["final"], strict=True)
    ]
    if counts != list(current(pool)):
        props["currentDedicatedNodes"], props["currentLowPriorityNodes"] = counts
        _sync_nodes(pool, counts, resize["end"])
        bump(pool)
        sim.store.touch()
    if fraction >= 1.0:
        resize["active"] = False
        props["allocationState"] = "Steady"
        props["allocationStateTransitionTime"] = sim.clock.iso(resize["end"])
        if resize["errors"]:
            props["resizeOperationStatus"]["errors"] = resize["errors"]
        bump(pool)
        sim.store.touch()


def _sync_nodes(pool: Record, counts: list[int], ready_at: float) -> None:
    nodes: list[dict[str, Any]] = pool["sys"].setdefault("nodes", [])
    drop: set[str] = set()
    for dedicated, want in zip((True, False), counts, strict=True):
        have = [n for n in nodes if n["dedicated"] == dedicated]
        # Shrinking lets the newest nodes go first.
        drop.update(n["id"] for n in have[want:])
        for _ in range(want - len(have)):
            serial = int(pool["sys"].get("nodeSerial", 0))
            pool["sys"]["nodeSerial"] = serial + 1
            nodes.append(
                {
                    "id": f"tvmps_{secrets.token_hex(32)}_{'d' if dedicated else 'p'}",
                    "dedicated": dedicated,
                    "readyAt": ready_at,
                    "ip": f"10.{serial // 62500 % 256}.{serial // 250 % 250}.{serial % 250 + 4}",
                }
            )
    if drop:
        nodes[:] = [n for n in nodes if n["id"] not in drop]


def bump(pool: Record) -> None:
    """New ETag for every change clients can observe."""
    version = int(pool["sys"].get("version", 0)) + 1
    pool["sys"]["version"] = version
    pool["etag"] = f'W/"0x8D{version:014X}"'
