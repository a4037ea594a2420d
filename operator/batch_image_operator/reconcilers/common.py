"""Outcomes shared by both kinds: invalid specs, Azure errors, allow-list refusals."""

from __future__ import annotations

from collections.abc import Sequence

from ..azure.gateway import AzureError
from ..config import Settings
from ..models.armid import ResourceId
from ..models.conditions import FALSE, Condition
from ..models.errors import SpecInvalid
from ..planning.errors import ErrorKind
from .outcome import Event, Outcome


def invalid_outcome(exc: SpecInvalid, *extra: str) -> Outcome:
    """``extra`` names further condition types that the invalid spec also makes False."""
    msg = str(exc)
    return Outcome(
        conditions=[*(Condition(t, FALSE, "InvalidSpec", msg) for t in extra),
                    Condition("Ready", FALSE, "InvalidSpec", msg)],
        events=[Event("Warning", "InvalidSpec", msg)],
        message=msg,
    )


def azure_error_outcome(exc: AzureError, settings: Settings) -> Outcome:
    if exc.info.retryable:
        requeue = exc.info.retry_after or settings.poll_interval
    elif exc.info.kind is ErrorKind.AUTH:
        requeue = settings.blocked_retry  # someone is likely fixing RBAC or a credential
    else:
        requeue = settings.drift_interval
    # Auth failures get their own reason: retrying cannot fix them, and tools (Argo CD's
    # health check) must not have to recognise them by message text.
    reason = "AzureAuthError" if exc.info.kind is ErrorKind.AUTH else "AzureError"
    return Outcome(
        conditions=[Condition("Ready", FALSE, reason, str(exc))],
        requeue=requeue,
        message=str(exc),
        hold_off=exc.info.retry_after,
    )


def not_allowed_outcome(namespace: str | None, denied: Sequence[ResourceId]) -> Outcome:
    msg = (f"namespace {namespace} may not use {', '.join(str(d) for d in denied)} "
           "(operator allow-list)")
    return Outcome(conditions=[Condition("Ready", FALSE, "NotAllowed", msg)],
                   events=[Event("Warning", "NotAllowed", msg)], message=msg)


def credential_outcome(message: str, settings: Settings) -> Outcome:
    """The namespace's credential Secret could not be used; nothing was sent to Azure."""
    return Outcome(conditions=[Condition("Ready", FALSE, "CredentialError", message)],
                   events=[Event("Warning", "CredentialError", message)],
                   requeue=settings.blocked_retry, message=message)
