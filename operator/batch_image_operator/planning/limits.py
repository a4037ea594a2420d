"""Custom-image node limits, summed per image lineage across BatchPools (pure).

Batch caps pools on a custom image at 2,500 dedicated / 1,000 low-priority nodes, and
the cap holds for the total over every pool using the same image or images built from
the same snapshots. Inbound NAT pools lower it: every node needs a frontend port.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Limits:
    dedicated: int = 2500
    low_priority: int = 1000
    nat_dedicated: int = 2500
    nat_low_priority: int = 1000


@dataclass(frozen=True)
class PoolDemand:
    namespace: str
    name: str
    created: str  # creationTimestamp: earlier pools keep their claim
    lineage: frozenset[str]  # lower-cased image id and source snapshot ids
    dedicated: int
    low_priority: int
    nat_port_capacity: int | None = None  # smallest NAT frontend range; None: no NAT pools

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.created, self.namespace, self.name)


@dataclass(frozen=True)
class LimitVerdict:
    within: bool
    message: str
    shared_with: tuple[str, ...]


def nat_port_capacity(nat_pools: Iterable[Mapping[str, Any]]) -> int | None:
    sizes = [int(p["frontendPortRangeEnd"]) - int(p["frontendPortRangeStart"]) + 1
             for p in nat_pools]
    return min(sizes) if sizes else None


def check_limits(me: PoolDemand, pools: Iterable[PoolDemand], limits: Limits) -> LimitVerdict:
    """Sum targets over pools sharing a lineage with ``me`` that were created no later."""
    if not me.lineage:
        return LimitVerdict(True, "not a custom image", ())
    sharing = [p for p in pools
               if (p.namespace, p.name) != (me.namespace, me.name) and p.lineage & me.lineage]
    earlier = [p for p in sharing if p.key < me.key]
    dedicated = me.dedicated + sum(p.dedicated for p in earlier)
    low = me.low_priority + sum(p.low_priority for p in earlier)
    cap_d, cap_l = limits.dedicated, limits.low_priority
    if me.nat_port_capacity is not None:
        cap_d = min(limits.nat_dedicated, me.nat_port_capacity)
        cap_l = min(limits.nat_low_priority, me.nat_port_capacity)
    names = tuple(sorted(f"{p.namespace}/{p.name}" for p in sharing))
    shared = f"; image lineage shared with {', '.join(names)}" if names else ""
    if dedicated > cap_d or low > cap_l:
        return LimitVerdict(False, (
            f"custom-image limit exceeded: {dedicated}/{cap_d} dedicated and {low}/{cap_l} "
            f"low-priority nodes over pools using this image or its snapshots{shared}"), names)
    return LimitVerdict(True, (f"{dedicated}/{cap_d} dedicated and {low}/{cap_l} low-priority "
                               f"nodes for this image lineage{shared}"), names)
