"""Read before write: a converged resource costs one read per drift interval, no writes."""

from __future__ import annotations

import time

from helpers.system import CRs, azure_requests, has_condition, load_example, running_operator
from helpers.waits import eventually
from simlaunch import Emulator

DRIFT = 0.5
WRITES = {"PUT", "PATCH", "POST", "DELETE"}


def test_converged_resources_get_reads_only(kubesim: Emulator, azuresim: Emulator,
                                            crs: CRs) -> None:
    with running_operator(kubesim.url, azuresim.env, BIO_DRIFT_INTERVAL=str(DRIFT)) as op:
        for doc in load_example("snapshots"):
            crs.create(doc)
        crs.wait("managedimages", "ubuntu-hpc", has_condition("Ready"))
        crs.wait("batchpools", "render-pool", has_condition("Ready"))

        azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
        started = time.monotonic()

        def reads(log: list[dict], kind: str) -> int:
            return sum(1 for e in log if e["method"] == "GET" and f"/{kind}/" in e["path"]
                       and "/operations/" not in e["path"])

        log = eventually(lambda: azure_requests(azuresim.admin_url, azuresim.ca_bundle),
                         lambda log: reads(log, "images") >= 3 and reads(log, "pools") >= 3)
        elapsed = time.monotonic() - started
        writes = [e for e in log if e["method"] in WRITES]
        assert writes == [], f"converged resources were written to: {writes}"
        # At most one read per resource per drift interval (plus the one in flight).
        budget = elapsed / DRIFT + 1
        assert reads(log, "images") <= budget
        assert reads(log, "pools") <= budget

        metrics = op.metrics()
        # Exactly one image PUT and one pool PUT on the whole create path.
        assert 'batchimage_azure_requests_total{operation="images.put",status="201"} 1.0' \
            in metrics
        assert 'batchimage_azure_requests_total{operation="pools.put",status="200"} 1.0' \
            in metrics
        assert 'batchimage_objects{kind="ManagedImage",ready="True"} 1.0' in metrics
        assert 'batchimage_objects{kind="BatchPool",ready="True"} 1.0' in metrics
        assert 'batchimage_reconciles_total{kind="BatchPool",result="ready"}' in metrics
