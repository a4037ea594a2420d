"""Outcomes shared by both kinds: invalid specs, Azure errors, allow-list refusals."""

from __future__ import annotations

from collections.abc import Sequence

from ..azure.gateway import AzureError
from ..config import Settings
from ..models.armid import ResourceId
from ..models.conditions import FALSE, Condition
from ..models.errors import SpecInvalid
from ..models.reasons import Reason
from ..planning.errors import ErrorKind
from .outcome import Event, Outcome


def invalid_outcome(exc: SpecInvalid, *extra: str) -> Outcome:
    """``extra`` names further condition types that the invalid spec also makes False."""
    msg = str(exc)
    return Outcome(
        conditions=[*(Condition(t, FALSE, Reason.INVALID_SPEC, msg) for t in extra),
                    Condition("Ready", FALSE, Reason.INVALID_SPEC, msg)],
        events=[Event("Warning", Reason.INVALID_SPEC, msg)],
        message=msg,
    )


def azure_error_outcome(exc: AzureError, settings: Settings) -> Outcome:
    """Transient errors are retried soon and quietly; an answer Azure will repeat until a
    human acts (a role, the spec, a policy, a quota) gets its own reason, a Warning event
    and no hot retries: the next pass comes at the blocked/drift interval, or at once
    when the spec changes."""
    info = exc.info
    if not info.needs_human:
        requeue = info.retry_after or settings.poll_interval
    elif info.kind is ErrorKind.AUTH:
        requeue = settings.blocked_retry  # someone is likely fixing RBAC or a credential
    else:
        requeue = settings.drift_interval
    message = str(exc)
    return Outcome(
        conditions=[Condition("Ready", FALSE, info.reason, message)],
        events=[Event("Warning", info.reason, message)] if info.needs_human else [],
        requeue=requeue,
        message=message,
        hold_off=info.retry_after,
    )


def not_allowed_outcome(namespace: str | None, denied: Sequence[ResourceId]) -> Outcome:
    msg = (f"namespace {namespace} may not use {', '.join(str(d) for d in denied)} "
           "(operator allow-list)")
    return Outcome(conditions=[Condition("Ready", FALSE, Reason.NOT_ALLOWED, msg)],
                   events=[Event("Warning", Reason.NOT_ALLOWED, msg)], message=msg)


def credential_outcome(message: str, settings: Settings) -> Outcome:
    """The namespace's credential Secret could not be used; nothing was sent to Azure."""
    return Outcome(conditions=[Condition("Ready", FALSE, Reason.CREDENTIAL_ERROR, message)],
                   events=[Event("Warning", Reason.CREDENTIAL_ERROR, message)],
                   requeue=settings.blocked_retry, message=message)
