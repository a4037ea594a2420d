"""An Azure error becomes a Ready=False condition whose reason tells auth from the rest."""

from __future__ import annotations

import pytest

from batch_image_operator.azure.gateway import AzureError
from batch_image_operator.config import Settings
from batch_image_operator.planning.errors import classify
from batch_image_operator.reconcilers.common import azure_error_outcome
from batch_image_operator.reconcilers.outcome import result_of

SETTINGS = Settings(subscription_id="3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8")


@pytest.mark.parametrize("status,code,reason", [
    (403, "AuthorizationFailed", "AzureAuthError"),
    (401, "InvalidAuthenticationToken", "AzureAuthError"),
    (429, "TooManyRequests", "AzureError"),
    (503, "ServiceUnavailable", "AzureError"),
    (409, "Conflict", "AzureError"),
])
def test_reason(status: int, code: str, reason: str) -> None:
    out = azure_error_outcome(AzureError("pools.get", classify(status, code, "no")), SETTINGS)
    ready = next(c for c in out.conditions if c.type == "Ready")
    assert (ready.status, ready.reason) == ("False", reason)
    assert code in ready.message


def test_auth_errors_are_retried_at_the_blocked_interval_not_the_drift_interval() -> None:
    out = azure_error_outcome(AzureError("pools.get", classify(403, "AuthorizationFailed", "x")),
                              SETTINGS)
    assert out.requeue == SETTINGS.blocked_retry


@pytest.mark.parametrize("status,code,reason", [
    (400, "InvalidPropertyValue", "AzureRequestRejected"),
    (404, "ResourceNotFound", "AzureRequestRejected"),
    (403, "RequestDisallowedByPolicy", "AzureRequestRejected"),
    (403, "AuthorizationFailed", "AzureAuthError"),
])
def test_an_answer_only_a_human_can_change_is_a_warning_and_not_retried_hot(
        status: int, code: str, reason: str) -> None:
    out = azure_error_outcome(AzureError("pools.create", classify(status, code, "no")), SETTINGS)
    ready = next(c for c in out.conditions if c.type == "Ready")
    assert ready.reason == reason
    assert [(e.type, e.reason) for e in out.events] == [("Warning", reason)]
    assert "pools.create" in out.events[0].message and code in out.events[0].message
    assert out.requeue in (SETTINGS.blocked_retry, SETTINGS.drift_interval)
    assert out.requeue >= SETTINGS.blocked_retry > SETTINGS.poll_interval
    assert result_of(out) == "rejected"


def test_a_rejected_spec_waits_for_the_drift_interval() -> None:
    out = azure_error_outcome(AzureError("pools.create",
                                         classify(400, "InvalidPropertyValue", "no")), SETTINGS)
    assert out.requeue == SETTINGS.drift_interval


@pytest.mark.parametrize("status,code", [(503, "ServiceUnavailable"), (429, "TooManyRequests"),
                                         (409, "AnotherOperationInProgress")])
def test_transient_errors_are_quiet_and_retried_soon(status: int, code: str) -> None:
    out = azure_error_outcome(AzureError("pools.get", classify(status, code, "busy")), SETTINGS)
    assert out.events == [] and out.requeue == SETTINGS.poll_interval
    assert result_of(out) == "error"
