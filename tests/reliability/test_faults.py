"""Faults: Azure 429 storms with Retry-After, 500/503 bursts, connection resets, slow LROs
and slow responses (azuresim admin faults); Kubernetes watch drops and 410 Expired
(kubesim admin). The operator converges, honours Retry-After (checked against azuresim's
own request timestamps) and does not multiply its calls compared with a fault-free run."""

from __future__ import annotations

import copy
import itertools

import requests

from helpers.reliability import Logged, example, timed_requests
from helpers.system import (
    CRs,
    azure_admin,
    azure_requests,
    azure_sdk,
    has_condition,
    running_operator,
)
from helpers.waits import eventually
from simlaunch import Emulator


def named(image: dict, pool: dict, suffix: str) -> tuple[dict, dict]:
    image, pool = copy.deepcopy(image), copy.deepcopy(pool)
    image["metadata"]["name"] = f"img-{suffix}"
    pool["metadata"]["name"] = f"pool-{suffix}"
    pool["spec"]["image"]["managedImageRef"]["name"] = f"img-{suffix}"
    pool["spec"]["scale"]["fixed"]["targetDedicatedNodes"] = 1
    return image, pool


def calls_for(log: list[dict], name: str) -> list[dict]:
    """Requests whose path addresses this resource (ARM item paths end in its name)."""
    return [e for e in log if e["path"].rstrip("/").lower().endswith("/" + name.lower())]


def build(crs: CRs, image: dict, pool: dict) -> None:
    crs.create(image)
    crs.create(pool)
    crs.wait("managedimages", image["metadata"]["name"], has_condition("Ready"), timeout=90)
    crs.wait("batchpools", pool["metadata"]["name"], has_condition("Ready"), timeout=90)


def fault(azure: Emulator, **rule: object) -> None:
    azure_admin(azure, "POST", "/faults", dict(rule))


def storm(kubesim: Emulator, azuresim: Emulator, crs: CRs,
          retry_after: int = 1) -> tuple[list[Logged], list[dict]]:
    """A fault-free pool, then a pool whose create meets five 429s (Retry-After: 1 s
    unless told), more than the SDK's own three retries absorb. Returns the hot pool's
    timed PUTs and the admin request log."""
    image, pool = example()
    base_image, base_pool = named(image, pool, "base")
    hot_image, hot_pool = named(image, pool, "hot")
    with running_operator(kubesim.url, azuresim.env):
        build(crs, base_image, base_pool)                     # fault-free baseline
        crs.create(hot_image)
        crs.wait("managedimages", "img-hot", has_condition("Ready"), timeout=60)
        fault(azuresim, method="PUT", pathRegex="/pools/pool-hot$", status=429,
              retryAfter=retry_after, count=5)
        crs.create(hot_pool)
        # While the throttled pass waits out Retry-After, a user edits the pool's labels:
        # the update that follows must not bring the PUT forward either.
        eventually(lambda: azure_requests(azuresim.admin_url, azuresim.ca_bundle),
                   lambda log: any(e["status"] == 429 for e in log), timeout=30)
        crs.patch("batchpools", "pool-hot", {"metadata": {"labels": {"team": "render"}}})
        crs.wait("batchpools", "pool-hot", has_condition("Ready"), timeout=90)
    puts = [e for e in timed_requests(azuresim)
            if e.method == "PUT" and e.path.lower().endswith("/pools/pool-hot")]
    return puts, azure_requests(azuresim.admin_url, azuresim.ca_bundle)


def test_429_storm_converges_without_multiplying_calls(kubesim: Emulator, azuresim: Emulator,
                                                       crs: CRs) -> None:
    puts, log = storm(kubesim, azuresim, crs)
    assert [e.status for e in puts] == [429] * 5 + [200], puts
    base, hot = calls_for(log, "pool-base"), calls_for(log, "pool-hot")
    # The storm costs the five refused PUTs plus at most one extra read per retry pass.
    assert len(hot) <= len(base) + 5 + 2, (len(base), [(e["method"], e["status"]) for e in hot])
    assert len([e for e in hot if e["method"] == "PUT" and e["status"] < 300]) == 1
    # The SDK's own retries wait as told (azuresim answers an injected 429 at once, so
    # the gap between two logged attempts is the client's wait).
    gaps = [round(b.at - a.at, 3) for a, b in itertools.pairwise(puts)]
    assert sorted(gaps)[1] >= 0.98, gaps


def test_429_retry_after_is_honoured_between_passes(kubesim: Emulator, azuresim: Emulator,
                                                     crs: CRs) -> None:
    puts, _ = storm(kubesim, azuresim, crs)
    gaps = [round(b.at - a.at, 3) for a, b in itertools.pairwise(puts)]
    assert min(gaps) >= 0.98, f"a PUT was retried earlier than Retry-After (1 s): {gaps}"


def test_429_retry_after_of_3_s_is_honoured(kubesim: Emulator, azuresim: Emulator,
                                            crs: CRs) -> None:
    """Azure's value, not a fixed one: after each 429 saying 3 s, no call at all for that
    pool (reads included) comes sooner, whether the SDK or the operator's next pass
    makes it."""
    puts, _ = storm(kubesim, azuresim, crs, retry_after=3)
    assert [e.status for e in puts] == [429] * 5 + [200], puts
    calls = [e for e in timed_requests(azuresim)
             if e.path.lower().endswith("/pools/pool-hot")]
    after_429 = [round(b.at - a.at, 3) for a, b in itertools.pairwise(calls)
                 if a.status == 429]
    assert len(after_429) == 5 and min(after_429) >= 2.98, \
        f"a call came earlier than Retry-After (3 s): {after_429}"


def test_5xx_bursts_and_connection_resets_converge_without_duplicates(
        kubesim: Emulator, azuresim: Emulator, crs: CRs) -> None:
    image, pool = example()
    base_image, base_pool = named(image, pool, "base")
    bad_image, bad_pool = named(image, pool, "bad")
    compute, batch = azure_sdk(azuresim.env)
    with running_operator(kubesim.url, azuresim.env):
        build(crs, base_image, base_pool)
        injected = 0
        for rule in (dict(method="GET", pathRegex="/images/img-bad$", status=503, count=2),
                     dict(method="PUT", pathRegex="/images/img-bad$", status=500, count=2),
                     dict(method="GET", pathRegex="/pools/pool-bad$", reset=True, count=2),
                     dict(method="PUT", pathRegex="/pools/pool-bad$", reset=True, count=1),
                     dict(method="PUT", pathRegex="/pools/pool-bad$", status=503, count=1)):
            fault(azuresim, **rule)
            injected += int(rule["count"])  # type: ignore[call-overload]
        build(crs, bad_image, bad_pool)
    assert azure_admin(azuresim, "GET", "/faults")["faults"] == [] or all(
        f["count"] == 0 for f in azure_admin(azuresim, "GET", "/faults")["faults"])
    log = azure_requests(azuresim.admin_url, azuresim.ca_bundle)
    base = calls_for(log, "img-base") + calls_for(log, "pool-base")
    bad = calls_for(log, "img-bad") + calls_for(log, "pool-bad")
    failed = [e for e in bad if e["status"] >= 500]
    assert len(failed) == injected, failed
    # One successful create each: the retried PUTs did not make a second resource.
    assert len([e for e in bad if e["method"] == "PUT" and e["status"] < 300]) == 2
    assert len(bad) - injected <= len(base) + 3, (len(base), len(bad), injected)
    assert compute.images.get("rg-batch-images", "img-bad").provisioning_state == "Succeeded"
    assert batch.pool.get("rg-batch", "batchdemo", "pool-bad").current_dedicated_nodes == 1


def test_slow_lro_and_slow_responses_are_polled_not_hammered(
        kubesim: Emulator, azuresim: Emulator, crs: CRs) -> None:
    image, pool = example()
    image, pool = named(image, pool, "slow")
    azure_admin(azuresim, "POST", "/speed", {"lroSeconds": 4})
    fault(azuresim, method="GET", pathRegex="/images/img-slow$", latencyMs=1500, count=2)
    poll = 0.3
    with running_operator(kubesim.url, azuresim.env, BIO_POLL_INTERVAL=str(poll)):
        build(crs, image, pool)
    log = azure_requests(azuresim.admin_url, azuresim.ca_bundle)
    image_calls = calls_for(log, "img-slow")
    assert [e["method"] for e in image_calls].count("PUT") == 1
    gets = [e for e in image_calls if e["method"] == "GET"]
    # One GET per poll interval while the 4 s build runs (+ the first look, + the slow ones).
    assert len(gets) <= 4 / poll + 4, len(gets)
    # The operator observes LROs by GETting the resource, never by polling the monitor.
    assert not [e for e in log if e["operation"] == "operations.get"]


def kube(kubesim: Emulator, method: str, path: str, body: dict | None = None) -> dict:
    reply = requests.request(method, f"{kubesim.url}/_kubesim/{path}", json=body, timeout=10)
    reply.raise_for_status()
    return dict(reply.json())


def test_watch_drops_and_410_expired_converge(kubesim: Emulator, azuresim: Emulator,
                                              crs: CRs) -> None:
    image, pool = example()
    with running_operator(kubesim.url, azuresim.env):
        crs.create(image)
        crs.wait("managedimages", "ubuntu-hpc", has_condition("Ready"))
        kube(kubesim, "POST", "reset")
        # Every watch the operator holds is cut, and its next two re-watches get 410 Expired.
        kube(kubesim, "POST", "watches/expire-next", {"count": 2})
        assert kube(kubesim, "POST", "watches/close")["closed"] >= 2
        crs.create(pool)
        crs.wait("batchpools", "render-pool", has_condition("Ready"), timeout=60)
        kube(kubesim, "POST", "watches/close")
        # Events after the drops still reach the operator: a resize goes through.
        crs.patch("batchpools", "render-pool",
                  {"spec": {"scale": {"fixed": {"targetDedicatedNodes": 2}}}})
        crs.wait("batchpools", "render-pool",
                 lambda o: has_condition("Ready")(o)
                 and o["status"].get("currentDedicatedNodes") == 2, timeout=60)
        counters = kube(kubesim, "GET", "counters")["counters"]
    rewatches = sum(v for k, v in counters.items()
                    if k.startswith(("watch ", "list ")) and "batchimage.dev" in k)
    # Two kinds x (two closes + two expiries + start) at most, with a list per relist.
    assert rewatches <= 2 * 5 * 2, counters
    azure = azure_requests(azuresim.admin_url, azuresim.ca_bundle)
    assert len([e for e in azure if e["operation"] == "pools.create"]) == 1


def test_refused_status_writes_are_written_again_by_the_next_pass(
        kubesim: Emulator, azuresim: Emulator, crs: CRs) -> None:
    """The API server refuses the image's first three status writes (503, as a busy
    server does) while the image builds. A refused write is not taken as written: the
    next pass writes the status again, and the image ends Ready with Azure's final state.
    (Remembering a refused write would leave the status empty for good.)"""
    image, _ = example()
    name = image["metadata"]["name"]
    kube(kubesim, "POST", "faults", {"method": "PATCH", "count": 3, "status": 503,
                                     "pathRegex": f"/managedimages/{name}/status$"})
    with running_operator(kubesim.url, azuresim.env):
        crs.create(image)
        crs.wait("managedimages", name, lambda o: has_condition("Ready")(o)
                 and o["status"].get("provisioningState") == "Succeeded", timeout=30)
