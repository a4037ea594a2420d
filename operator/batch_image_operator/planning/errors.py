"""Classify Azure errors into what the operator should do about them.

The error *code* Azure sends decides first: it is what Azure documents and what a human
can act on, while one HTTP status covers both kinds (a 409 is a transient conflict, or
`SkuNotAvailable`; a 403 is a missing role, or a policy denial). The status is the
fallback for codes not listed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..models.reasons import Reason


class ErrorKind(Enum):
    NOT_FOUND = "not-found"      # a resource named by the spec does not exist: needs a human
    THROTTLED = "throttled"      # 429: back off as told
    TRANSIENT = "transient"      # 5xx, timeouts: retry with backoff
    CONFLICT = "conflict"        # 409/412: state moved under us; re-read
    AUTH = "auth"                # 401/403: credentials or RBAC; needs a human
    INVALID = "invalid"          # 4xx: the spec asks for something Azure refuses
    UNKNOWN = "unknown"


# The condition reasons an Azure error ends in (docs/troubleshooting.md; Argo CD's health
# checks show the first two as Degraded).
AUTH_REASON = Reason.AZURE_AUTH_ERROR
REJECTED_REASON = Reason.AZURE_REQUEST_REJECTED
TRANSIENT_REASON = Reason.AZURE_ERROR
HUMAN_ACTION = frozenset({ErrorKind.AUTH, ErrorKind.INVALID, ErrorKind.NOT_FOUND})

_ROLES = "grant the operator's identity this action (docs/azure-permissions.md); new role " \
         "assignments take a few minutes to apply"
_CREDENTIAL = "Azure refused the operator's credential: check the workload identity " \
              "(client id, federated credential) or client secret, and the tenant"
_FIX_SPEC = "fix the spec (the message names the property); the operator retries when " \
            "the spec changes"
_MISSING = "a resource the request names does not exist: check the names in the spec " \
           "(subscription, resource group, Batch account, image)"
_TRANSIENT = "transient; retried automatically"

_NO_CHANGE = "this property cannot change on an existing resource: revert it, or create a " \
             "new object under a new name"

# (kind, what a human should do, the Azure error codes that mean it).
_ADVICE: tuple[tuple[ErrorKind, str, tuple[str, ...]], ...] = (
    # Someone must grant or fix access. AuthorizationFailure: the Batch data plane's 403.
    (ErrorKind.AUTH, _ROLES,
     ("AuthorizationFailed", "AuthorizationFailure", "InsufficientPermissions")),
    (ErrorKind.AUTH, _ROLES + " (on the linked resource too)", ("LinkedAuthorizationFailed",)),
    (ErrorKind.AUTH, _CREDENTIAL, ("AuthenticationFailed", "InvalidAuthenticationToken",
                                   "InvalidAuthenticationTokenAudience")),
    (ErrorKind.AUTH, "the identity belongs to another tenant than the subscription: check "
                     "AZURE_TENANT_ID", ("InvalidAuthenticationTokenTenant",)),
    # Azure will give the same answer until the spec, a policy or a quota changes.
    (ErrorKind.INVALID, "an Azure Policy assignment denies this request: change the spec to "
                        "comply, or ask the policy owner for an exemption",
     ("RequestDisallowedByPolicy",)),
    (ErrorKind.INVALID, _FIX_SPEC,
     ("InvalidPropertyValue", "InvalidParameter", "MissingRequiredProperty",
      "InvalidRequestContent", "InvalidRequestBody", "InvalidResourceName",
      "AccountNameInvalid", "LocationRequired", "BadRequest")),
    (ErrorKind.INVALID, _NO_CHANGE, ("PropertyCannotBeUpdated", "PropertyChangeNotAllowed")),
    (ErrorKind.INVALID, "the VM size is not offered in this region or subscription: pick "
                        "another vmSize or region (az vm list-skus --location <region>)",
     ("SkuNotAvailable",)),
    (ErrorKind.INVALID, "this region does not offer the resource type: pick another location",
     ("LocationNotAvailableForResourceType",)),
    (ErrorKind.INVALID, "a quota is exhausted: request more quota, or lower the node counts",
     ("QuotaExceeded",)),
    (ErrorKind.INVALID, "Azure does not allow this operation here (often a quota): read the "
                        "message, request quota or change the spec", ("OperationNotAllowed",)),
    (ErrorKind.INVALID, "register the resource provider on the subscription "
                        "(az provider register)", ("MissingSubscriptionRegistration",)),
    (ErrorKind.INVALID, "the Batch account reports an unusable endpoint; check the account "
                        "in the Azure portal", ("InvalidAccountEndpoint",)),
    (ErrorKind.NOT_FOUND, _MISSING, ("ResourceNotFound", "NotFound", "ParentResourceNotFound",
                                     "PoolNotFound", "AccountNotFound")),
    (ErrorKind.NOT_FOUND, "the resource group does not exist: create it or fix the spec's "
                          "resourceGroup", ("ResourceGroupNotFound",)),
    (ErrorKind.NOT_FOUND, "the subscription does not exist or the identity cannot see it: "
                          "check the ids in the spec and BIO_SUBSCRIPTION_ID",
     ("SubscriptionNotFound",)),
    # Azure is busy or the state moved: the same request succeeds later.
    (ErrorKind.CONFLICT, "another operation on the resource is running; retried",
     ("AnotherOperationInProgress",)),
    (ErrorKind.CONFLICT, "the pool is still resizing; retried", ("PoolNotSteady",)),
    (ErrorKind.CONFLICT, "child resources are still being deleted", ("CannotDeleteResource",)),
    (ErrorKind.CONFLICT, _TRANSIENT, ("Conflict", "ConditionNotMet", "PreconditionFailed",
                                      "ResourceGroupBeingDeleted")),
    (ErrorKind.TRANSIENT, "a new token is fetched; retried", ("ExpiredAuthenticationToken",)),
    (ErrorKind.THROTTLED, "Azure throttles this identity; retried after Retry-After",
     ("TooManyRequests",)),
    (ErrorKind.THROTTLED, "Azure throttles this subscription; retried",
     ("SubscriptionRequestsThrottled",)),
    (ErrorKind.TRANSIENT, _TRANSIENT,
     ("RetryableError", "InternalServerError", "InternalError", "ServiceUnavailable",
      "ServerBusy", "GatewayTimeout", "OperationTimedOut")),
)
# code -> (kind, advice). Codes are compared case-insensitively.
_CODES: dict[str, tuple[ErrorKind, str]] = {
    code.lower(): (kind, advice) for kind, advice, codes in _ADVICE for code in codes}

_BY_STATUS_ADVICE = {
    ErrorKind.AUTH: _ROLES,
    ErrorKind.INVALID: _FIX_SPEC,
    ErrorKind.NOT_FOUND: _MISSING,
}


@dataclass(frozen=True)
class Classified:
    """An Azure error as the planner sees it: what to do (kind), the ARM code and message,
    when to retry, and the advice the condition message carries."""

    kind: ErrorKind
    code: str
    message: str
    retry_after: float | None = None
    advice: str = ""

    @property
    def needs_human(self) -> bool:
        """Azure gives the same answer until someone changes the spec, a role or a quota."""
        return self.kind in HUMAN_ACTION

    @property
    def retryable(self) -> bool:
        return not self.needs_human

    @property
    def reason(self) -> Reason:
        """The Ready condition's reason for this error."""
        if self.kind is ErrorKind.AUTH:
            return AUTH_REASON
        return REJECTED_REASON if self.needs_human else TRANSIENT_REASON


def _by_status(status: int | None) -> ErrorKind:
    if status == 404:
        return ErrorKind.NOT_FOUND
    if status == 429:
        return ErrorKind.THROTTLED
    if status in {401, 403}:
        return ErrorKind.AUTH
    if status in {409, 412}:
        return ErrorKind.CONFLICT
    if status == 408:
        return ErrorKind.TRANSIENT
    if status is not None and 400 <= status < 500:
        return ErrorKind.INVALID
    if status is None or status >= 500:
        return ErrorKind.TRANSIENT
    return ErrorKind.UNKNOWN


def classify(status: int | None, code: str | None, message: str,
             retry_after: float | None = None) -> Classified:
    """By the Azure error code when it is a known one, else by the HTTP status."""
    code = code or ""
    known = _CODES.get(code.lower())
    if known is not None:
        kind, advice = known
    else:
        kind = _by_status(status)
        advice = _BY_STATUS_ADVICE.get(kind, _TRANSIENT)
    return Classified(kind, code, message, retry_after, advice)


def describe(operation: str, info: Classified) -> str:
    """The condition message: what Azure said, and what to do about it."""
    text = f"{operation}: {info.code or info.kind.value}: {info.message}"
    return f"{text} ({info.advice})" if info.advice else text
