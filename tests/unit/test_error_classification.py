"""Azure's error code decides what happens, before the HTTP status: a human-action reason
(Argo CD Degraded, a Warning event, no hot retries) or a quiet transient retry."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError

from batch_image_operator.azure.errors import AzureError, azure_errors
from batch_image_operator.planning.errors import _CODES, ErrorKind, classify

HUMAN = [
    # (status Azure sends, code, reason, words of the advice)
    (400, "InvalidPropertyValue", "AzureRequestRejected", "fix the spec"),
    (404, "ResourceNotFound", "AzureRequestRejected", "does not exist"),
    (400, "PropertyCannotBeUpdated", "AzureRequestRejected", "cannot change"),
    (403, "AuthorizationFailed", "AzureAuthError", "azure-permissions.md"),
    (401, "InvalidAuthenticationToken", "AzureAuthError", "credential"),
    (403, "AuthorizationFailure", "AzureAuthError", "azure-permissions.md"),
    (403, "RequestDisallowedByPolicy", "AzureRequestRejected", "Azure Policy"),
    (409, "SkuNotAvailable", "AzureRequestRejected", "vmSize"),
    (400, "MissingRequiredProperty", "AzureRequestRejected", "fix the spec"),
    (409, "OperationNotAllowed", "AzureRequestRejected", "quota"),
    (404, "ResourceGroupNotFound", "AzureRequestRejected", "resource group"),
    (409, "MissingSubscriptionRegistration", "AzureRequestRejected", "az provider register"),
    (403, "LinkedAuthorizationFailed", "AzureAuthError", "linked resource"),
    (403, "InsufficientPermissions", "AzureAuthError", "azure-permissions.md"),
    (401, "AuthenticationFailed", "AzureAuthError", "credential"),
    (401, "InvalidAuthenticationTokenAudience", "AzureAuthError", "credential"),
    (401, "InvalidAuthenticationTokenTenant", "AzureAuthError", "AZURE_TENANT_ID"),
    (400, "InvalidParameter", "AzureRequestRejected", "fix the spec"),
    (400, "InvalidRequestContent", "AzureRequestRejected", "fix the spec"),
    (400, "InvalidRequestBody", "AzureRequestRejected", "fix the spec"),
    (400, "InvalidResourceName", "AzureRequestRejected", "fix the spec"),
    (400, "AccountNameInvalid", "AzureRequestRejected", "fix the spec"),
    (400, "LocationRequired", "AzureRequestRejected", "fix the spec"),
    (400, "BadRequest", "AzureRequestRejected", "fix the spec"),
    (400, "PropertyChangeNotAllowed", "AzureRequestRejected", "cannot change"),
    (400, "LocationNotAvailableForResourceType", "AzureRequestRejected", "location"),
    (409, "QuotaExceeded", "AzureRequestRejected", "quota"),
    (None, "InvalidAccountEndpoint", "AzureRequestRejected", "Batch account"),
    (404, "NotFound", "AzureRequestRejected", "does not exist"),
    (404, "ParentResourceNotFound", "AzureRequestRejected", "does not exist"),
    (404, "SubscriptionNotFound", "AzureRequestRejected", "BIO_SUBSCRIPTION_ID"),
    (404, "PoolNotFound", "AzureRequestRejected", "does not exist"),
    (404, "AccountNotFound", "AzureRequestRejected", "does not exist"),
]
TRANSIENT = [
    (429, "TooManyRequests"), (503, "ServiceUnavailable"), (500, "InternalServerError"),
    (409, "AnotherOperationInProgress"), (409, "Conflict"), (409, "PoolNotSteady"),
    (412, "ConditionNotMet"), (504, "GatewayTimeout"), (400, "RetryableError"),
    (401, "ExpiredAuthenticationToken"), (412, "PreconditionFailed"),
    (409, "CannotDeleteResource"), (409, "ResourceGroupBeingDeleted"),
    (429, "SubscriptionRequestsThrottled"), (500, "InternalError"), (503, "ServerBusy"),
    (500, "OperationTimedOut"),
]


def test_every_known_code_has_a_test_here() -> None:
    """A code added to the table must say here which way it goes."""
    tested = {c.lower() for _, c, *_ in HUMAN} | {c.lower() for _, c in TRANSIENT}
    assert tested == set(_CODES)


@pytest.mark.parametrize("status,code,reason,advice", HUMAN)
def test_permanent_codes_need_a_human(status: int | None, code: str, reason: str,
                                      advice: str) -> None:
    info = classify(status, code, "refused")
    assert (info.needs_human, info.retryable, info.reason) == (True, False, reason)
    assert advice in info.advice


@pytest.mark.parametrize("status,code", TRANSIENT)
def test_transient_codes_are_retried(status: int, code: str) -> None:
    info = classify(status, code, "busy")
    assert (info.needs_human, info.retryable, info.reason) == (False, True, "AzureError")


@pytest.mark.parametrize("status,code,kind", [
    # The code wins over the status that would say otherwise.
    (409, "SkuNotAvailable", ErrorKind.INVALID),
    (403, "RequestDisallowedByPolicy", ErrorKind.INVALID),
    (400, "RetryableError", ErrorKind.TRANSIENT),
    (400, "anotheroperationinprogress", ErrorKind.CONFLICT),  # codes compare case-blind
])
def test_the_code_decides_before_the_status(status: int, code: str, kind: ErrorKind) -> None:
    assert classify(status, code, "m").kind is kind


@pytest.mark.parametrize("status,kind", [
    (400, ErrorKind.INVALID), (422, ErrorKind.INVALID), (403, ErrorKind.AUTH),
    (401, ErrorKind.AUTH), (404, ErrorKind.NOT_FOUND), (409, ErrorKind.CONFLICT),
    (412, ErrorKind.CONFLICT), (429, ErrorKind.THROTTLED), (408, ErrorKind.TRANSIENT),
    (500, ErrorKind.TRANSIENT), (503, ErrorKind.TRANSIENT), (None, ErrorKind.TRANSIENT),
])
def test_unknown_codes_fall_back_to_the_status(status: int | None, kind: ErrorKind) -> None:
    assert classify(status, "SomethingNew", "m").kind is kind


def test_the_message_says_operation_code_azure_text_and_advice() -> None:
    err = AzureError("pools.create", classify(400, "InvalidPropertyValue", "bad sku"))
    assert str(err).startswith("pools.create: InvalidPropertyValue: bad sku (fix the spec")


class _Response:
    """Just enough of an azure-core response for HttpResponseError to parse its body."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
                 ) -> None:
        self.status_code, self.reason = status, "Reason"
        self.headers = headers or {}
        self._body = json.dumps(body).encode()
        self.content_type = "application/json"
        self.request = None

    def text(self, encoding: str | None = None) -> str:
        return self._body.decode()

    def body(self) -> bytes:
        return self._body


def http_error(status: int, body: dict[str, Any], **headers: str) -> HttpResponseError:
    return HttpResponseError(response=_Response(status, body, headers))  # type: ignore[arg-type]


def raised(exc: Exception, missing_ok: bool = False) -> AzureError | None:
    try:
        with azure_errors("images.get", missing_ok=missing_ok):
            raise exc
    except AzureError as mapped:
        return mapped
    return None


def test_mapper_reads_arm_error_json() -> None:
    err = raised(http_error(400, {"error": {
        "code": "InvalidPropertyValue", "target": "nodeAgentSkuId",
        "message": "The specified nodeAgentSkuId 'batch.node.ubunt' is not supported."}}))
    assert err is not None and err.operation == "images.get"
    assert err.info.code == "InvalidPropertyValue" and err.info.needs_human
    assert "nodeAgentSkuId" in err.info.message


def test_mapper_reads_batch_data_plane_error_json() -> None:
    err = raised(http_error(403, {"code": "AuthorizationFailure", "message": {
        "lang": "en-US", "value": "This request is not authorized.\nRequestId:x\nTime:y"}}))
    assert err is not None and err.info.reason == "AzureAuthError"
    assert err.info.message == "This request is not authorized."


def test_mapper_passes_retry_after_and_maps_connection_errors_as_transient() -> None:
    err = raised(http_error(429, {"error": {"code": "TooManyRequests", "message": "slow"}},
                            **{"Retry-After": "7"}))
    assert err is not None and err.info.retry_after == 7.0 and not err.info.needs_human
    err = raised(ServiceRequestError("connection refused"))
    assert err is not None and err.info.reason == "AzureError"


def test_a_refused_token_request_is_an_auth_error() -> None:
    err = raised(ClientAuthenticationError("AADSTS7000215: Invalid client secret provided."))
    assert err is not None and err.info.reason == "AzureAuthError"


def test_not_found_is_swallowed_only_when_missing_is_ok() -> None:
    missing = http_error(404, {"error": {"code": "ResourceNotFound", "message": "gone"}})
    assert raised(missing, missing_ok=True) is None
    err = raised(missing)
    assert err is not None and err.info.reason == "AzureRequestRejected"
    # Anything else still raises inside a missing-ok block.
    err = raised(http_error(403, {"error": {"code": "AuthorizationFailed", "message": "no"}}),
                 missing_ok=True)
    assert err is not None and err.info.kind is ErrorKind.AUTH


def test_other_exceptions_pass_through_untouched() -> None:
    with pytest.raises(KeyError), azure_errors("images.get", missing_ok=True):
        raise KeyError("x")
