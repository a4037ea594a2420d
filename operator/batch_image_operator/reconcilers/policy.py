"""The policy gate and the ownership check as reconcilers use them: outcomes and scoping.

Both kinds call ``gated`` before their first Azure call, on every pass and on deletion,
and ``not_ours`` whenever an existing Azure resource lacks their own owner mark.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..azure.dataplane import BatchAccountGateway
from ..azure.gateway import ComputeGateway, PoolGateway
from ..azure.scoped import ScopedAccounts, ScopedCompute, ScopedPools
from ..config import Settings
from ..models.conditions import FALSE, Condition
from ..models.ownership import Owner
from ..models.reasons import Reason
from ..planning.ownership import ClaimVerdict
from ..planning.scope import AzureScope, gate
from .common import not_allowed_outcome
from .outcome import Event, Outcome


@dataclass(frozen=True)
class Gated:
    """Gateways bound to one pass's admitted scope."""

    compute: ScopedCompute | None
    pools: ScopedPools | None
    accounts: ScopedAccounts | None


def gated(namespace: str | None, scope: AzureScope, settings: Settings, *,
          compute: ComputeGateway | None = None, pools: PoolGateway | None = None,
          accounts: BatchAccountGateway | None = None) -> Gated | Outcome:
    """The scoped gateways, or the NotAllowed outcome when any id is outside the
    namespace's allow-list (then nothing at all is sent to Azure)."""
    denied = gate(namespace, scope, settings.allowlist)
    if denied:
        return not_allowed_outcome(namespace, denied)
    return Gated(ScopedCompute(compute, scope) if compute is not None else None,
                 ScopedPools(pools, scope) if pools is not None else None,
                 ScopedAccounts(accounts, scope) if accounts is not None else None)


def not_ours(verdict: ClaimVerdict, *also_false: str) -> Outcome:
    """An existing Azure resource this object may not write to: say so, write nothing."""
    return Outcome(
        conditions=[*(Condition(t, FALSE, verdict.why, verdict.message) for t in also_false),
                    Condition("Ready", FALSE, verdict.why, verdict.message)],
        events=[Event("Warning", verdict.why, verdict.message)],
        message=verdict.message)


def left_in_azure(verdict: ClaimVerdict, what: str) -> Event:
    """Deleting an object whose Azure side is not its own: the finalizer goes, Azure stays."""
    return Event("Warning", Reason.LEFT_IN_AZURE,
                 f"{what} is not owned by this object ({verdict.reason}); it was not deleted")


def owner_of(cluster: str, kind: str, namespace: str | None, name: str, uid: str) -> Owner:
    return Owner(cluster, kind, namespace or "", name, uid)
