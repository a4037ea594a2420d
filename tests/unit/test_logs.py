"""Every log line of a pass names the object and the reason; a Warning event is a WARNING
line, so `kubectl logs` tells the same story as `kubectl describe`."""

from __future__ import annotations

import logging

import pytest

from batch_image_operator.azure.errors import AzureError
from batch_image_operator.config import Settings
from batch_image_operator.models.conditions import Condition
from batch_image_operator.planning.errors import classify
from batch_image_operator.reconcilers.common import azure_error_outcome
from batch_image_operator.reconcilers.outcome import Event, Outcome
from batch_image_operator.runner.logs import LOGGER, emit, pass_log

SETTINGS = Settings(subscription_id="3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8")


def test_a_refused_azure_request_is_a_warning_naming_object_reason_and_operation() -> None:
    out = azure_error_outcome(AzureError("pools.create", classify(
        404, "ResourceNotFound", "The Resource 'Microsoft.Batch/batchAccounts/batchdem0' "
        "under resource group 'rg-batch' was not found.")), SETTINGS)
    [line] = pass_log("BatchPool", "team-a", "render-pool", out, out.events, True)
    assert line.level == logging.WARNING
    assert line.message.startswith("BatchPool team-a/render-pool: AzureRequestRejected: "
                                   "pools.create: ResourceNotFound: ")
    assert "batchdem0" in line.message


def test_each_posted_event_is_one_line_at_its_level() -> None:
    out = Outcome(conditions=[Condition("Ready", "False", "Creating", "Creating Azure image")],
                  events=[Event("Normal", "Creating", "Creating Azure image /x"),
                          Event("Warning", "SharedImage", "also used by other-pool")])
    lines = pass_log("ManagedImage", "default", "img", out, out.events, True)
    assert [(ln.level, ln.message) for ln in lines] == [
        (logging.INFO, "ManagedImage default/img: Creating: Creating Azure image /x"),
        (logging.WARNING, "ManagedImage default/img: SharedImage: also used by other-pool")]


@pytest.mark.parametrize("changed,level", [(True, logging.INFO), (False, logging.DEBUG)])
def test_a_transient_error_is_logged_once_when_it_appears(changed: bool, level: int) -> None:
    out = azure_error_outcome(AzureError("pools.get", classify(503, "ServiceUnavailable",
                                                               "busy")), SETTINGS)
    [line] = pass_log("BatchPool", "default", "p", out, out.events, changed)
    assert line.level == level
    assert line.message.startswith("BatchPool default/p: Ready=False AzureError: pools.get: "
                                   "ServiceUnavailable: busy")


def test_a_warning_not_posted_again_is_not_logged_again_at_warning() -> None:
    out = azure_error_outcome(AzureError("pools.create", classify(
        400, "InvalidPropertyValue", "bad")), SETTINGS)
    [line] = pass_log("BatchPool", "default", "p", out, [], False)
    assert line.level == logging.DEBUG


def test_emit_writes_to_the_operator_logger(caplog: pytest.LogCaptureFixture) -> None:
    out = azure_error_outcome(AzureError("galleries.put", classify(
        403, "AuthorizationFailed", "no galleries/write")), SETTINGS)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        emit(pass_log("ManagedImage", "default", "img", out, out.events, True))
    [record] = caplog.records
    assert (record.name, record.levelname) == (LOGGER, "WARNING")
    assert "default/img" in record.getMessage() and "galleries.put" in record.getMessage()
