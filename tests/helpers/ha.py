"""Two operator processes with leader election: a candidate process, who holds the
Lease, and who wrote what to Azure (azuresim logs each request's User-Agent, which
carries the writer's identity)."""

from __future__ import annotations

import os
import re
import signal
import time
import urllib.request
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes import watch as k8s_watch

from helpers.reliability import WRITES, OperatorProcess
from helpers.waits import eventually
from simlaunch import Emulator, OperatorPorts

# Short timings keep a hand-over within seconds.
LEASE, RENEW, RETRY = 4.0, 3.0, 0.5
LEASE_NAME = "bio-leader"
IDENTITY = re.compile(r"Waiting to lead: Lease \S+, as (\S+)")
Obj = dict[str, Any]


class Candidate(OperatorProcess):
    """An operator process with leader election on."""

    def __init__(self, workdir: Path, kube: Emulator, azure: Emulator,
                 lease: str = LEASE_NAME, **overrides: str) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.ports = OperatorPorts.free()
        overrides = {**self.ports.env, **overrides}
        super().__init__(workdir, kube, azure, BIO_LEADER_ELECTION="on",
                         BIO_LEASE_NAME=lease, BIO_LEASE_NAMESPACE="default",
                         BIO_LEASE_DURATION=str(LEASE), BIO_LEASE_RENEW_DEADLINE=str(RENEW),
                         BIO_LEASE_RETRY_PERIOD=str(RETRY), **overrides)
        self._identity: str | None = None

    def start(self) -> None:
        self._identity = None   # a restarted process is a new candidate
        super().start()

    def identity(self) -> str:
        # Kept once found: logs() shows only each log's tail, which moves on.
        if self._identity is None:
            # This start's log only: a restarted candidate has a new identity.
            current = self.workdir / f"operator-{self.starts}.log"
            found = eventually(lambda: IDENTITY.search(
                current.read_text(errors="replace") if current.exists() else ""),
                bool, timeout=60)
            self._identity = str(found[1])
        return self._identity

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, sig)

    def exit_code(self, timeout: float) -> int | None:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=timeout)
        except Exception:
            return None


def holder(api: k8s.ApiClient, name: str = LEASE_NAME) -> str:
    try:
        lease = k8s.CoordinationV1Api(api).read_namespaced_lease(name, "default")
    except k8s.ApiException as exc:
        if exc.status == 404:
            return ""
        raise
    return str(lease.spec.holder_identity or "")


def leads(api: k8s.ApiClient, who: Candidate, timeout: float = 60,
          lease: str = LEASE_NAME) -> float:
    """Wait until ``who`` holds the Lease; the monotonic time it was first seen so."""
    me = who.identity()
    eventually(lambda: holder(api, lease), lambda h: h == me, timeout=timeout)
    return time.monotonic()


def writes_by(log: list[Obj], who: str) -> list[Obj]:
    return [e for e in log if e["method"] in WRITES and e.get("userAgent", "").find(who) >= 0]


def get(url: str) -> tuple[int, str]:
    """(status, body); (0, "") while nothing listens (between standby and leader)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status, reply.read().decode()
    except OSError:
        return 0, ""


def pause_right_after_renewal(api: k8s.ApiClient, who: Candidate, timeout: float = 30,
                              lease: str = LEASE_NAME) -> float:
    """SIGSTOP ``who`` the moment the API server accepts one of its renewals; the wall
    time of the stop.

    Its renew loop has just gone to sleep for a whole retry period, so on SIGCONT every
    timer of its event loop due within that period (a write waiting out a Retry-After,
    say) runs before the loop notices that the lease is long gone. Only the fence in the
    Azure clients can then stop those writes.
    """
    me = who.identity()
    coordination = k8s.CoordinationV1Api(api)
    since = coordination.read_namespaced_lease(lease, "default").metadata.resource_version
    w = k8s_watch.Watch()
    for event in w.stream(coordination.list_namespaced_lease, "default",
                          field_selector=f"metadata.name={lease}", resource_version=since,
                          timeout_seconds=int(timeout)):
        if event["type"] == "MODIFIED" and event["object"].spec.holder_identity == me:
            who.signal(signal.SIGSTOP)
            w.stop()
            return time.time()
    raise TimeoutError(f"{me} renewed no Lease within {timeout}s")
