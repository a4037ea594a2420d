"""What reaches status and events from an Azure failure: Azure's own words, bounded, with
the field it names; odd headers and bodies never crash the mapping; writes never treat a
404 as done."""

from __future__ import annotations

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
)
from test_error_classification import _Response, http_error, raised

from batch_image_operator.azure.errors import AzureError, azure_errors
from batch_image_operator.planning.errors import ErrorKind, classify


def test_azure_messages_are_cut_at_their_bounds() -> None:
    err = raised(http_error(400, {"error": {"code": "InvalidParameter", "message": "m" * 600,
                                            "target": "t" * 300}}))
    assert err is not None
    assert err.info.message == "m" * 500 + " (target: " + "t" * 200 + ")"
    exact = raised(http_error(400, {"error": {"code": "InvalidParameter", "message": "m" * 500}}))
    assert exact is not None and exact.info.message == "m" * 500


def test_the_field_azure_blames_is_named_when_its_message_does_not() -> None:
    err = raised(http_error(400, {"error": {"code": "InvalidParameter", "target": "vmSize",
                                            "message": "The value is not valid."}}))
    assert err is not None and err.info.message == "The value is not valid. (target: vmSize)"


def test_without_an_error_body_the_http_reason_is_said_bounded() -> None:
    err = raised(http_error(502, {}))
    assert err is not None and err.info.message == "Reason"
    response = _Response(502, {})
    response.reason = "r" * 600
    long = raised(HttpResponseError(response=response))  # type: ignore[arg-type]
    assert long is not None and long.info.message == "r" * 500


def test_a_connection_failure_says_what_failed_bounded() -> None:
    err = raised(ServiceRequestError("connection reset by peer\nsecond line"))
    assert err is not None and err.info.message == "connection reset by peer"
    long = raised(ServiceRequestError("x" * 400))
    assert long is not None and long.info.message == "x" * 300


def test_a_refused_credential_says_what_azure_ad_said_bounded() -> None:
    err = raised(ClientAuthenticationError("AADSTS7000215: Invalid client secret provided."))
    assert err is not None and err.info.reason == "AzureAuthError"
    assert err.info.message == ("Azure AD refused the credential: "
                                "AADSTS7000215: Invalid client secret provided.")
    long = raised(ClientAuthenticationError("a" * 400))
    assert long is not None
    assert long.info.message == "Azure AD refused the credential: " + "a" * 300


@pytest.mark.parametrize("value", ["Wed, 21 Oct 2026 07:28:00 GMT", "1.5", "soon"])
def test_a_retry_after_that_is_not_whole_seconds_is_ignored_not_a_crash(value: str) -> None:
    err = raised(http_error(503, {"error": {"code": "ServerBusy", "message": "busy"}},
                            **{"Retry-After": value}))
    assert err is not None and err.info.retry_after is None


def test_a_404_is_an_error_unless_the_caller_says_missing_is_fine() -> None:
    with pytest.raises(AzureError), azure_errors("images.put"):
        raise http_error(404, {"error": {"code": "NotFound", "message": "gone"}})


@pytest.mark.parametrize(("status", "kind"), [
    (399, ErrorKind.UNKNOWN), (302, ErrorKind.UNKNOWN), (400, ErrorKind.INVALID),
    (499, ErrorKind.INVALID), (500, ErrorKind.TRANSIENT)])
def test_an_unknown_code_is_judged_by_the_status_class(status: int, kind: ErrorKind) -> None:
    assert classify(status, "SomethingNew", "m").kind is kind
