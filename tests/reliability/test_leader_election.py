"""Two operator processes with leader election on kubesim + azuresim: exactly one writes to
Azure, a dead leader is replaced within the lease, a paused one is fenced, and a stopped
one hands over at once.

Short timings (lease 4 s, renew deadline 3 s, retry 0.5 s) keep the suite near a minute.
Processes are told apart in azuresim's request log by the User-Agent each one sends
(``batch-image-operator/<identity>``), and in the Lease by the identity each one logs.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers.ha import LEASE, RENEW, Candidate, get, leads, pause_right_after_renewal, writes_by
from helpers.reliability import example, inventory
from helpers.system import CRs, azure_admin, azure_requests, has_condition
from helpers.waits import eventually
from simlaunch import Emulator

BURST = int(os.environ.get("BIO_HA_BURST", "100"))
# Pools whose writes the paused leader holds (see the SIGSTOP test).
PARKED = 16
Obj = dict[str, Any]


def counters(azure: Emulator) -> dict[str, int]:
    return dict(azure_admin(azure, "GET", "/requests")["counters"])


def pools(image_name: str, base: Obj, names: list[str]) -> list[Obj]:
    out = []
    for name in names:
        pool = copy.deepcopy(base)
        pool["metadata"]["name"] = name
        pool["spec"]["image"] = {"managedImageRef": {"name": image_name}}
        pool["spec"]["scale"]["fixed"]["targetDedicatedNodes"] = 1
        out.append(pool)
    return out


@contextlib.contextmanager
def candidates(tmp_path: Path, kubesim: Emulator, azuresim: Emulator, crs: CRs,
               **overrides: str) -> Iterator[tuple[Candidate, Candidate]]:
    first = Candidate(tmp_path / "a", kubesim, azuresim, **overrides)
    second = Candidate(tmp_path / "b", kubesim, azuresim, **overrides)
    first.start()
    leads(crs.api.api_client, first)          # the first one started leads ...
    second.start()
    second.identity()              # ... and the second one is up, as standby
    try:
        yield first, second
    finally:
        for op in (first, second):
            if op.proc is not None and op.proc.poll() is None:
                op.signal(signal.SIGCONT)
            op.stop()


@pytest.fixture
def pair(tmp_path: Path, kubesim: Emulator, azuresim: Emulator, crs: CRs) -> Any:
    with candidates(tmp_path, kubesim, azuresim, crs) as both:
        yield both


def test_sigkill_of_the_leader_mid_burst_hands_over_without_duplicates(
        pair: tuple[Candidate, Candidate], azuresim: Emulator, crs: CRs) -> None:
    first, second = pair
    image, base = example()
    names = [f"burst-{i:03d}" for i in range(BURST)]
    # Each pool PUT is answered after 0.5 s, so the burst lasts long enough to be cut
    # with writes in flight: azuresim completes them after their sender is gone.
    azure_admin(azuresim, "POST", "/faults", {"method": "PUT", "pathRegex": "/pools/burst-",
                                              "latencyMs": 500, "count": BURST})
    crs.create(image)
    for pool in pools(image["metadata"]["name"], base, names):
        crs.create(pool)
    # Kill once the leader has created some pools but not all of them.
    eventually(lambda: counters(azuresim).get("pools.create", 0), lambda n: n >= BURST // 4,
               timeout=90)
    first.kill9()
    killed = time.monotonic()
    assert counters(azuresim).get("pools.create", 0) < BURST, "the burst ended before the kill"
    took = leads(crs.api.api_client, second) - killed
    print(f"failover after SIGKILL: {took:.2f}s (lease {LEASE}s)")
    assert took <= LEASE + 5, f"the standby took {took:.1f}s to lead"
    for name in names:
        crs.wait("batchpools", name, has_condition("Ready"), timeout=120)
    made = counters(azuresim)
    created = collections.Counter(
        e["path"].rsplit("/", 1)[-1]
        for e in azure_requests(azuresim.admin_url, azuresim.ca_bundle)
        if e["operation"] == "pools.create" and e["status"] < 300)
    assert created == dict.fromkeys(names, 1), created   # every pool created exactly once
    assert made.get("images.create") == 1, made         # no second image PUT
    assert inventory(azuresim.env)["pools"] == sorted(names)
    assert inventory(azuresim.env)["images"] == [image["metadata"]["name"]]


def test_a_paused_leader_makes_no_azure_write_after_losing_the_lease_and_exits(
        tmp_path: Path, kubesim: Emulator, azuresim: Emulator, crs: CRs) -> None:
    image, base = example()
    names = [f"late-{i:02d}" for i in range(PARKED)]
    # The SDK retries each pool PUT after the Retry-After of a 503, so the leader always
    # holds writes parked on a timer, one due every 1/PARKED s; retries enough to last.
    with candidates(tmp_path, kubesim, azuresim, crs,
                    BIO_AZURE_RETRY_TOTAL="1000") as (first, second):
        crs.create(image)
        crs.wait("managedimages", image["metadata"]["name"], has_condition("Ready"),
                 timeout=60)
        azure_admin(azuresim, "POST", "/faults", {"method": "PUT", "pathRegex": "/pools/late-",
                                                  "status": 503, "retryAfter": 1,
                                                  "count": 10**6})
        azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
        for pool in pools(image["metadata"]["name"], base, names):
            crs.create(pool)
        eventually(lambda: {e["path"].rsplit("/", 1)[-1] for e in writes_by(
            azure_requests(azuresim.admin_url, azuresim.ca_bundle), first.identity())
            if e["status"] == 503}, lambda parked: parked == set(names), timeout=60)
        # Paused with every write parked, past its lease; the standby then meets no fault.
        pause_right_after_renewal(crs.api.api_client, first)
        azure_admin(azuresim, "DELETE", "/faults")
        azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
        leads(crs.api.api_client, second, timeout=LEASE + 10)
        took_over = time.time()
        for name in names:
            crs.wait("batchpools", name, has_condition("Ready"), timeout=60)
        first.signal(signal.SIGCONT)
        code = first.exit_code(timeout=RENEW + 10)
        log = azure_requests(azuresim.admin_url, azuresim.ca_bundle)
        late = [(e["method"], e["path"].rsplit("/", 1)[-1], e["status"])
                for e in writes_by([e for e in log if e["at"] > took_over], first.identity())]
        assert late == [], f"the old leader wrote to Azure after losing the lease: {late}"
        assert code == 1, f"the old leader did not exit non-zero (code {code})\n{first.logs()}"
        assert writes_by(log, second.identity()), "the new leader wrote nothing"
        assert counters(azuresim).get("pools.create") == len(names)


def test_sigterm_releases_the_lease_at_once(pair: tuple[Candidate, Candidate],
                                            azuresim: Emulator, crs: CRs) -> None:
    first, second = pair
    # The standby answers the probes (it must not be restarted for waiting) and has an
    # empty metrics page (its scrape target is up); it serves real metrics once leading.
    assert get(second.ports.health_url) == (200, "standby")
    assert get(second.ports.metrics_url) == (200, "")
    first.signal(signal.SIGTERM)
    stopped = time.monotonic()
    took = leads(crs.api.api_client, second, timeout=LEASE + 10) - stopped
    print(f"hand-over after SIGTERM: {took:.2f}s")
    assert took <= 3.0, f"hand-over took {took:.1f}s"
    assert first.exit_code(timeout=10) == 0
    eventually(lambda: get(second.ports.metrics_url)[1], lambda page: "batchimage_" in page)
    # The new leader works: a pool created now gets to Ready.
    image, base = example()
    crs.create(image)
    crs.create(pools(image["metadata"]["name"], base, ["after-handover"])[0])
    crs.wait("batchpools", "after-handover", has_condition("Ready"), timeout=60)
    log = azure_requests(azuresim.admin_url, azuresim.ca_bundle)
    assert writes_by(log, second.identity()) and not writes_by(log, first.identity())
