"""Leader election decisions (planning/lease.py), the fence, the Azure write gate, and
the lease settings."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ServiceRequestError
from azure.core.rest import HttpRequest

from batch_image_operator.azure import clients
from batch_image_operator.azure.clients import AzureClients, FencedWrite, install_fence
from batch_image_operator.config import ConfigError, Settings
from batch_image_operator.planning.lease import (
    Action,
    Fence,
    LeaseRecord,
    LeaseTimings,
    Observation,
    decide,
    micro_time,
    observe,
    released,
)

SUB = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"
BASE = {"AZURE_SUBSCRIPTION_ID": SUB, "BIO_ALLOWLIST_FILE": "unrestricted"}
WALL = datetime(2026, 12, 2, 17, 0, 0, 123456, tzinfo=UTC)
T = LeaseTimings(lease_duration=15, renew_deadline=10, retry_period=2)


def held_by(holder: str, *, renew: str = "2026-12-02T16:59:58.000000Z", rv: str = "7",
            transitions: int = 3, duration: int = 15) -> LeaseRecord:
    return LeaseRecord(holder, duration, "2026-12-02T16:00:00.000000Z", renew, transitions, rv)


def test_no_lease_is_created_holding_it() -> None:
    step = decide(None, "me", now=100.0, wall=WALL, timings=T)
    assert step.action is Action.CREATE
    assert step.write == LeaseRecord("me", 15, "2026-12-02T17:00:00.123456Z",
                                     "2026-12-02T17:00:00.123456Z", 0, "")


def test_a_live_lease_of_another_holder_is_waited_for() -> None:
    seen = Observation(held_by("other"), changed_at=100.0)
    step = decide(seen, "me", now=110.0, wall=WALL, timings=T)
    assert (step.action, step.holder, step.expires_in) == (Action.WAIT, "other", 5.0)
    assert step.write is None


def test_expiry_is_measured_on_our_clock_not_the_holders_renew_time() -> None:
    # renewTime says an hour ago (the holder's clock is behind), but we saw the record
    # change just now: it is live for its full duration from now.
    stale_clock = held_by("other", renew="2026-12-02T16:00:00.000000Z")
    seen = observe(None, stale_clock, now=200.0)
    assert decide(seen, "me", now=214.9, wall=WALL, timings=T).action is Action.WAIT
    assert decide(seen, "me", now=215.0, wall=WALL, timings=T).action is Action.ACQUIRE


def test_an_unchanged_record_keeps_its_clock_and_a_renewal_restarts_it() -> None:
    first = observe(None, held_by("other", rv="7"), now=100.0)
    again = observe(first, held_by("other", rv="7"), now=109.0)
    assert again.changed_at == 100.0
    renewed = observe(again, held_by("other", renew="2026-12-02T17:00:09.000000Z", rv="8"),
                      now=110.0)
    assert renewed.changed_at == 110.0
    assert decide(renewed, "me", now=120.0, wall=WALL, timings=T).action is Action.WAIT


def test_an_expired_lease_is_taken_over_with_its_resource_version() -> None:
    seen = Observation(held_by("other", rv="42", transitions=3), changed_at=100.0)
    step = decide(seen, "me", now=116.0, wall=WALL, timings=T)
    assert step.action is Action.ACQUIRE
    assert step.write is not None
    assert step.write.holder == "me"
    assert step.write.transitions == 4
    assert step.write.resource_version == "42"   # the PUT fails (409) if anyone wrote since
    assert step.write.acquire_time == step.write.renew_time == micro_time(WALL)


def test_the_lease_uses_the_records_duration_so_a_release_frees_it_at_once() -> None:
    free = released(held_by("other", rv="9"), WALL)
    assert (free.holder, free.duration_seconds, free.transitions) == ("", 1, 3)
    seen = observe(None, free, now=100.0)
    assert decide(seen, "me", now=100.0, wall=WALL, timings=T).action is Action.ACQUIRE
    # A holder with a 1 s lease (someone else's release-style record) expires after 1 s.
    short = Observation(held_by("other", duration=1), changed_at=100.0)
    assert decide(short, "me", now=100.5, wall=WALL, timings=T).action is Action.WAIT
    assert decide(short, "me", now=101.0, wall=WALL, timings=T).action is Action.ACQUIRE


def test_our_own_lease_is_renewed_keeping_acquire_time_and_transitions() -> None:
    mine = held_by("me", rv="11", transitions=5)
    step = decide(Observation(mine, changed_at=0.0), "me", now=1000.0, wall=WALL, timings=T)
    assert step.action is Action.RENEW
    assert step.write is not None
    assert step.write.acquire_time == mine.acquire_time
    assert step.write.transitions == 5
    assert step.write.renew_time == micro_time(WALL)
    assert step.write.resource_version == "11"


def test_lease_record_round_trips_through_the_api_shape() -> None:
    lease = {"metadata": {"name": "x", "resourceVersion": "5"},
             "spec": {"holderIdentity": "pod-1_ab", "leaseDurationSeconds": 15,
                      "acquireTime": "2026-12-02T16:00:00.000000Z",
                      "renewTime": "2026-12-02T16:00:02.000000Z", "leaseTransitions": 2}}
    record = LeaseRecord.from_lease(lease)
    assert record == LeaseRecord("pod-1_ab", 15, "2026-12-02T16:00:00.000000Z",
                                 "2026-12-02T16:00:02.000000Z", 2, "5")
    assert record.spec() == lease["spec"]
    assert LeaseRecord.from_lease({"spec": {"leaseDurationSeconds": "15"}}).duration_seconds == 0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_fence_closes_at_the_renew_deadline_after_the_renewal_was_sent() -> None:
    clock = Clock()
    fence = Fence(renew_deadline=10, clock=clock)
    assert not fence.is_open()               # nothing written before leading
    clock.now = 50.0
    fence.renewed(sent_at=48.0)              # the reply came 2 s after the request left
    assert fence.is_open()
    clock.now = 57.9
    assert fence.is_open() and fence.remaining() == pytest.approx(0.1)
    clock.now = 58.0                         # nobody renewed, nobody called anything
    assert not fence.is_open()
    fence.renewed(sent_at=47.0)              # an older renewal never moves it back
    assert not fence.is_open()


def test_a_closed_fence_stays_closed() -> None:
    clock = Clock()
    fence = Fence(renew_deadline=10, clock=clock)
    fence.renewed(sent_at=0.0)
    fence.close()
    assert not fence.is_open()
    fence.renewed(sent_at=1.0)
    assert not fence.is_open() and fence.remaining() < 0


@pytest.mark.parametrize(("env", "problem"), [
    ({"BIO_LEASE_DURATION": "10"}, "longer than the renew deadline"),
    ({"BIO_LEASE_RENEW_DEADLINE": "2"}, "longer than the retry period"),
    ({"BIO_LEADER_ELECTION": "yes"}, "BIO_LEADER_ELECTION must be one of off, on"),
    ({"BIO_LEASE_NAME": "Not_A_Name"}, "BIO_LEASE_NAME must be a Kubernetes object name"),
])
def test_lease_settings_that_cannot_fence_are_refused(env: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        Settings.from_env({**BASE, **env})


def test_lease_settings_defaults_and_pod_namespace() -> None:
    plain = Settings.from_env(BASE)
    assert not plain.leader_election
    assert (plain.lease_name, plain.lease_namespace) == ("batch-image-operator", "default")
    assert plain.lease_timings == LeaseTimings(15, 10, 2)
    pod = Settings.from_env({**BASE, "BIO_LEADER_ELECTION": "on",
                             "POD_NAMESPACE": "bio-system", "BIO_LEASE_DURATION": "4",
                             "BIO_LEASE_RENEW_DEADLINE": "3", "BIO_LEASE_RETRY_PERIOD": "0.5"})
    assert pod.leader_election and pod.lease_namespace == "bio-system"
    assert pod.lease_timings == LeaseTimings(4, 3, 0.5)
    named = Settings.from_env({**BASE, "POD_NAMESPACE": "bio-system",
                               "BIO_LEASE_NAMESPACE": "elsewhere"})
    assert named.lease_namespace == "elsewhere"


class StaticCredential:
    async def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        return AccessToken("token", 2**31)

    async def close(self) -> None:
        pass


@pytest.fixture
def fenced(monkeypatch: pytest.MonkeyPatch) -> tuple[Fence, Clock]:
    monkeypatch.setattr(clients, "_leadership", None)
    clock = Clock()
    fence = Fence(renew_deadline=3, clock=clock)
    install_fence(fence, "pod-a_1234")
    return fence, clock


async def _send(method: str) -> BaseException | None:
    # ARM on a closed loopback port: a request that leaves fails to connect.
    settings = Settings(subscription_id=SUB, arm_endpoint="https://127.0.0.1:9", retry_total=0)
    azure = AzureClients(settings, StaticCredential())  # type: ignore[arg-type]
    url = f"https://127.0.0.1:9/subscriptions/{SUB}/resourceGroups/rg/providers/" \
          "Microsoft.Compute/images/x?api-version=2024-03-01"
    try:
        await azure.compute(SUB).send_request(HttpRequest(method, url, json={}))
    except Exception as exc:  # the test inspects what came back
        return exc
    finally:
        await azure.close()
    return None


@pytest.mark.parametrize("method", ["PUT", "PATCH", "POST", "DELETE"])
def test_azure_writes_are_refused_once_the_fence_closes(
        fenced: tuple[Fence, Clock], method: str) -> None:
    fence, clock = fenced
    fence.renewed(sent_at=0.0)
    clock.now = 2.9
    assert not isinstance(asyncio.run(_send(method)), FencedWrite)  # left, failed to connect
    clock.now = 3.0
    refused = asyncio.run(_send(method))
    assert isinstance(refused, FencedWrite), refused
    assert "not the leader" in str(refused)


def test_azure_reads_pass_a_closed_fence(fenced: tuple[Fence, Clock]) -> None:
    error = asyncio.run(_send("GET"))
    assert isinstance(error, ServiceRequestError) and not isinstance(error, FencedWrite)


def test_without_leader_election_nothing_is_fenced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clients, "_leadership", None)
    error = asyncio.run(_send("PUT"))
    assert isinstance(error, ServiceRequestError) and not isinstance(error, FencedWrite)
