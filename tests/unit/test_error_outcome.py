"""An Azure error becomes a Ready=False condition whose reason tells auth from the rest."""

from __future__ import annotations

import pytest

from batch_image_operator.azure.gateway import AzureError
from batch_image_operator.config import Settings
from batch_image_operator.planning.errors import classify
from batch_image_operator.reconcilers.common import azure_error_outcome

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
