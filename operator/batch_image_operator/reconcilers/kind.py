"""What a kind is to the reconcilers, and the one path every pass of every kind takes.

A kind is a small descriptor (the model is Azure Service Operator v2's generic reconciler
over per-resource hooks): how its spec is parsed, what an invalid spec is told, which
Azure ids a pass may touch (its scope), and its two steps, reconcile and delete. The
path around the steps is written once, here, for both kinds and both directions: parse,
then the policy gate (``policy.gated``), then the step with gateways bound to the gated
scope. No step can reach Azure without passing the gate first: it never sees an unscoped
gateway.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from ..azure.dataplane import BatchAccountGateway
from ..azure.gateway import ComputeGateway, PoolGateway
from ..config import Settings
from ..models.errors import SpecInvalid
from ..models.reasons import Reason
from ..planning.scope import AzureScope
from .outcome import Event, Outcome
from .policy import Gated, gated


class InNamespace(Protocol):
    """A kind's context: what the handler knows from Kubernetes, at least its namespace."""

    @property
    def namespace(self) -> str | None: ...


@dataclass(frozen=True)
class Gateways:
    """One identity's Azure gateways, unscoped: only the path below hands them, through
    the policy gate, to a step."""

    compute: ComputeGateway | None = None
    pools: PoolGateway | None = None
    accounts: BatchAccountGateway | None = None


SpecT = TypeVar("SpecT")
CtxT = TypeVar("CtxT", bound=InNamespace)
KindStep = Callable[[SpecT, CtxT, Gated, Settings], Awaitable[Outcome]]


@dataclass(frozen=True)
class Kind(Generic[SpecT, CtxT]):
    """The per-kind parts of a pass; everything else is shared (see ``reconcile``)."""

    name: str  # the Kubernetes kind: ManagedImage, BatchPool
    parse: Callable[[str, Mapping[str, Any], Settings], SpecT]  # raises SpecInvalid
    invalid: Callable[[SpecInvalid], Outcome]  # what a spec that does not parse is told
    # Every Azure id a pass may touch; ``deleting``: for a deletion pass.
    scope: Callable[[SpecT, CtxT, Settings, bool], AzureScope]
    reconcile_step: KindStep[SpecT, CtxT]
    delete_step: KindStep[SpecT, CtxT]


async def reconcile(kind: Kind[SpecT, CtxT], name: str, raw_spec: Mapping[str, Any],
                    ctx: CtxT, *, settings: Settings, gateways: Gateways) -> Outcome:
    """One reconcile pass: an invalid spec or a scope outside the allow-list stops it
    before any Azure call, with a condition and an event saying why."""
    try:
        spec = kind.parse(name, raw_spec, settings)
    except SpecInvalid as exc:
        return kind.invalid(exc)
    gw = _gate(kind, spec, ctx, settings, gateways, deleting=False)
    if isinstance(gw, Outcome):
        return gw
    return await kind.reconcile_step(spec, ctx, gw, settings)


async def delete(kind: Kind[SpecT, CtxT], name: str, raw_spec: Mapping[str, Any],
                 ctx: CtxT, *, settings: Settings, gateways: Gateways) -> Outcome:
    """One deletion pass; ``done`` once the finalizer may go."""
    try:
        spec = kind.parse(name, raw_spec, settings)
    except SpecInvalid:
        # Nothing valid was ever created in Azure from an invalid spec.
        return Outcome(done=True)
    gw = _gate(kind, spec, ctx, settings, gateways, deleting=True)
    if isinstance(gw, Outcome):
        # Outside the allow-list: never touched, so nothing of ours is there to delete.
        return Outcome(done=True, events=[Event("Warning", Reason.NOT_ALLOWED, gw.message)])
    return await kind.delete_step(spec, ctx, gw, settings)


def _gate(kind: Kind[SpecT, CtxT], spec: SpecT, ctx: CtxT, settings: Settings,
          gateways: Gateways, *, deleting: bool) -> Gated | Outcome:
    return gated(ctx.namespace, kind.scope(spec, ctx, settings, deleting), settings,
                 compute=gateways.compute, pools=gateways.pools, accounts=gateways.accounts)
