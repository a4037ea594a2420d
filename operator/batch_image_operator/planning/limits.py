"""Custom-image node limits, summed per image lineage across BatchPools (pure).

Batch caps pools on a custom image at 2,500 dedicated / 1,000 low-priority nodes, and
the cap holds for the total over every pool using the same image or images built from
the same snapshots. Inbound NAT pools lower it: every node needs a frontend port.

Only admitted demand counts: what the operator has let a pool ask Azure for. A change
that would push the lineage over the cap is the one refused, before any Azure call; a
pool that does not grow is never refused, whatever others ask for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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
    uid: str
    lineage: frozenset[str]  # lower-cased image ids and source snapshot ids
    dedicated: int
    low_priority: int
    nat_port_capacity: int | None = None  # smallest NAT frontend range; None: no NAT pools

    @property
    def nodes(self) -> tuple[int, int]:
        return self.dedicated, self.low_priority


@dataclass(frozen=True)
class LimitVerdict:
    within: bool
    message: str
    # Other admitted pools on this lineage, and whether any boots from this very image
    # (rather than another image built from the same snapshots).
    sharing: int = 0
    same_image: bool = False


def nat_port_capacity(nat_pools: Iterable[Mapping[str, Any]]) -> int | None:
    sizes = [int(p["frontendPortRangeEnd"]) - int(p["frontendPortRangeStart"]) + 1
             for p in nat_pools]
    return min(sizes) if sizes else None


def _grows(me: PoolDemand, admitted: tuple[int, int] | None) -> bool:
    return admitted is None or me.dedicated > admitted[0] or me.low_priority > admitted[1]


def _sharing_text(me: PoolDemand, sharing: Sequence[PoolDemand]) -> str:
    """Pools of the same namespace by name, others only as a count."""
    names = sorted(p.name for p in sharing if p.namespace == me.namespace)
    elsewhere = sum(1 for p in sharing if p.namespace != me.namespace)
    parts = ([", ".join(names)] if names else []) + (
        [f"{elsewhere} pool(s) in other namespaces"] if elsewhere else [])
    return f"; image lineage shared with {' and '.join(parts)}" if parts else ""


def check_limits(me: PoolDemand, others: Iterable[PoolDemand], limits: Limits, *,
                 admitted: tuple[int, int] | None, image_ids: frozenset[str]) -> LimitVerdict:
    """``others``: the admitted demand of other pools; ``admitted``: this pool's own;
    ``image_ids``: the (lower-cased) ids of the image this pool boots from."""
    if not me.lineage:
        return LimitVerdict(True, "not a custom image")
    sharing = [p for p in others if p.uid != me.uid and p.lineage & me.lineage]
    dedicated = me.dedicated + sum(p.dedicated for p in sharing)
    low = me.low_priority + sum(p.low_priority for p in sharing)
    cap_d, cap_l = limits.dedicated, limits.low_priority
    if me.nat_port_capacity is not None:
        cap_d = min(limits.nat_dedicated, me.nat_port_capacity)
        cap_l = min(limits.nat_low_priority, me.nat_port_capacity)
    same_image = any(p.lineage & image_ids for p in sharing)
    if (dedicated > cap_d or low > cap_l) and _grows(me, admitted):
        shared = _sharing_text(me, sharing)
        totals = f"{dedicated}/{cap_d} dedicated and {low}/{cap_l} low-priority nodes"
        have = f"{admitted[0]} dedicated / {admitted[1]} low-priority" if admitted else "none"
        return LimitVerdict(False, (
            f"custom-image limit exceeded: {totals} over pools using this image or its "
            f"snapshots{shared}. This pool asks for {me.dedicated} dedicated / "
            f"{me.low_priority} low-priority nodes (admitted so far: {have}); lower the "
            "target, or use an image built from other snapshots"),
            len(sharing), same_image)
    # Admitted: only what is this pool's own, so a sibling's arrival or growth does not
    # rewrite every other pool's status (with the running total, a 5,000-pool burst made
    # 2.6 status changes a pool against 1.0 at 1,000). A refusal gives the totals and the
    # sharing pools; sharing itself is the SharedImage warning's to say.
    return LimitVerdict(True, (
        f"admitted for {me.dedicated} dedicated / {me.low_priority} low-priority nodes; the "
        f"custom-image limit of {cap_d} dedicated / {cap_l} low-priority nodes counts every "
        "pool of this image lineage"), len(sharing), same_image)


def check_quota(me: PoolDemand, namespace_pools: Mapping[str, tuple[int, int]], *,
                max_pools: int | None, max_nodes: int | None) -> str | None:
    """Why the namespace's caps refuse this demand, or None. ``namespace_pools``: uid ->
    admitted nodes of the namespace's admitted pools (this one included if admitted)."""
    admitted = namespace_pools.get(me.uid)
    if not _grows(me, admitted):
        return None
    others = {uid: n for uid, n in namespace_pools.items() if uid != me.uid}
    if max_pools is not None and admitted is None and len(others) + 1 > max_pools:
        return (f"namespace {me.namespace} may have at most {max_pools} BatchPool(s) in "
                f"Azure and has {len(others)}")
    nodes = sum(d + low for d, low in others.values()) + me.dedicated + me.low_priority
    if max_nodes is not None and nodes > max_nodes:
        return (f"namespace {me.namespace} may hold at most {max_nodes} nodes; this pool "
                f"would bring it to {nodes}")
    return None


@dataclass(frozen=True)
class Admission:
    """The verdict on a pool's node demand: the lineage limit, then the namespace caps."""

    limits: LimitVerdict
    quota: str | None = None  # the namespace cap that refuses it, if one does

    @property
    def admitted(self) -> bool:
        return self.limits.within and self.quota is None


def admit(me: PoolDemand, *, others: Iterable[PoolDemand],
          namespace_pools: Mapping[str, tuple[int, int]], image_ids: frozenset[str],
          limits: Limits, max_pools: int | None, max_nodes: int | None) -> Admission:
    verdict = check_limits(me, others, limits, admitted=namespace_pools.get(me.uid),
                           image_ids=image_ids)
    if not verdict.within:
        return Admission(verdict)
    return Admission(verdict, check_quota(me, namespace_pools, max_pools=max_pools,
                                          max_nodes=max_nodes))
