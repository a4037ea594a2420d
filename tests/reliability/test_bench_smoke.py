"""`bench/run.py --small` (20 pools over 4 images, operator as a subprocess) as a smoke test:
the report has its shape, and the goals that mean something at small N hold.

Create path of one pool, counted precisely (azuresim counters / 20 pools):
  1. GET pool      -> 404 (does it exist? needed to be restart-safe)
  2. PUT pool      -> 200 (create; allocation starts)
  3. GET pool      -> Steady at 1 node (allocation, 0.5 s, ends before the next 1 s poll)
so 3 ARM calls per pool; the Batch data-plane `nodecounts` read and the account read are
per account (shared by all its pools) and reported separately.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from typing import Any

import pytest

from helpers.system import ROOT


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    workdir = tmp_path_factory.mktemp("bench")
    out = workdir / "report.json"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--small",
                           "--out", str(out), "--workdir", str(workdir / "run")],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "goals:" in proc.stdout  # the printed table
    return dict(json.loads(out.read_text()))


def test_report_has_its_shape(report: dict[str, Any]) -> None:
    assert report["params"]["pools"] == 20 and report["params"]["images"] == 4
    create, steady = report["create"], report["steady"]
    for key in ("allPoolsReadySeconds", "floorSeconds", "ratioToFloor", "poolCallsPerPool",
                "poolCreatePath",
                "poolCallsPerPoolTotal", "imageCallsPerImage", "accountLevelCalls",
                "kubeCalls", "kubeCallsPerResource", "imageCreateToFirstWriteSeconds"):
        assert key in create, key
    for key in ("windowSeconds", "driftIntervals", "azureWrites", "azureCalls",
                "poolReadsPerPool", "imageReadsPerImage",
                "poolReadsPerPoolPerInterval", "imageReadsPerImagePerInterval", "kubeCalls"):
        assert key in steady, key
    assert report["operator"]["peakRssMb"] > 0
    assert report["operator"]["exitCode"] == 0  # stopped cleanly by SIGTERM
    assert report["idleProbe"]["count"] == report["params"]["probes"]
    assert report["driftLoadProbe"]["count"] == report["params"]["probes"]
    assert set(report["goals"]) == {
        "readyWithin5xFloor", "poolCallsPerPoolMax3", "steadyAzureWrites0",
        "readsPerResourcePerDriftInterval1", "peakRssMb200", "idleCreateToFirstWriteP99Max1s",
        "otherNamespaceCreateToFirstWriteP99Max1s", "armLimitsNo429", "armLimitsWithin1.15xFloor"}
    # The second namespace probed during the burst, and every probe reached Azure.
    fairness = report["fairness"]
    assert fairness["probes"] >= 1 and fairness["probes"] == fairness["created"], fairness
    assert fairness["missed"] == [] and fairness["p99Seconds"] is not None, fairness
    # Split at the moment Kopf had taken up every burst pool: each probe on one side.
    assert fairness["burstTakenUpSeconds"] is not None, fairness
    assert fairness["whileTakingUp"]["probes"] + fairness["afterTakenUp"]["probes"] == \
        fairness["probes"], fairness
    assert create["imageCreateToFirstWriteSeconds"]["count"] == 4
    assert create["kubeCallsPerResource"] > 0


def test_steady_state_costs_no_azure_writes(report: dict[str, Any]) -> None:
    steady = report["steady"]
    assert steady["azureWrites"] == 0, steady["azureWritesLogged"]
    assert steady["azureWritesLogged"] == []


def test_create_path_is_three_azure_calls_per_pool(report: dict[str, Any]) -> None:
    path = report["create"]["poolCreatePath"]  # each pool's calls until it was Ready
    assert path["count"] == 20
    assert path["max"] <= 3, path
    assert path["byMethodStatus"].get("PUT 200") == 1.0, path    # exactly one PUT per pool
    assert path["byMethodStatus"].get("GET 404") == 1.0, path    # the existence check
    assert set(path["byMethodStatus"]) <= {"GET 404", "PUT 200", "GET 200"}, path
    # Over the whole phase (drift re-reads of early pools included) still no PATCH/DELETE.
    per_pool = report["create"]["poolCallsPerPool"]
    assert per_pool["pools.create"] == 1.0
    assert set(per_pool) <= {"pools.create", "pools.get"}, per_pool


def test_at_most_one_read_per_resource_per_drift_interval(report: dict[str, Any]) -> None:
    steady = report["steady"]
    intervals = steady["driftIntervals"]
    # A resource read every interval gets floor(k) or floor(k)+1 reads in a window of k
    # intervals, depending on phase; more than that is more than one read per interval.
    budget = (math.floor(intervals) + 1) / intervals
    assert steady["poolReadsPerPoolPerInterval"] <= budget, steady["azureCalls"]
    assert steady["imageReadsPerImagePerInterval"] <= budget, steady["azureCalls"]
    assert steady["poolReadsPerPoolPerInterval"] >= (math.floor(intervals) - 1) / intervals, \
        "converged pools were not re-read for drift at all"


def test_idle_operator_writes_soon_after_creation(report: dict[str, Any]) -> None:
    probe = report["idleProbe"]["createToFirstWriteSeconds"]
    assert probe["p99"] is not None and probe["p99"] <= 1.0, probe


def test_batch_account_is_read_once(report: dict[str, Any]) -> None:
    assert report["create"]["accountLevelCalls"].get("batchAccounts.get") == 1, \
        report["create"]["accountLevelCalls"]
