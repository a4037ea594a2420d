"""Process-wide state the handlers share: settings, Azure gateways, per-object schedule."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import GROUP
from ..azure.clients import AzureClients
from ..azure.credentials import build_credential
from ..azure.dataplane import BatchAccountGateway
from ..azure.gateway import ComputeGateway, PoolGateway
from ..azure.observe import ObservePolicy
from ..config import CredentialSettings, Settings
from ..kube.api import KubeApi
from ..kube.secrets import SecretError, SecretReader
from ..metrics import Metrics, MetricsServer
from ..models.references import ImageInfo
from ..reconcilers.images import ImageGateways
from ..reconcilers.pools import PoolGateways
from .fairshare import FairShare
from .persistence import MemoryDiffBaseStorage, MemoryProgressStorage

SECRET_KEYS = ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET")
log = logging.getLogger(__name__)


@dataclass
class Identity:
    """One Azure identity's clients and gateways (the operator's, or a namespace's)."""

    clients: AzureClients
    images: ImageGateways
    pools: PoolGateways


@dataclass(eq=False)
class _Held:
    """A namespace identity and how many passes hold it right now."""

    identity: Identity
    leases: int = 0


def _credential_key(namespace: str, name: str, data: Mapping[str, str] | None) -> str:
    """The identity cache key of a usable credential Secret; SecretError otherwise.

    The messages name the Secret and its keys, never a value.
    """
    if data is None:
        raise SecretError(
            f"namespace {namespace} has no credential Secret {name}; the operator's own "
            "identity is not lent to it (BIO_NAMESPACE_CREDENTIAL_FALLBACK=deny)")
    missing = [k for k in SECRET_KEYS if k not in data]
    if missing:
        raise SecretError(f"Secret {namespace}/{name} lacks {', '.join(missing)}")
    empty = [k for k in SECRET_KEYS if not data[k].strip()]
    if empty:
        raise SecretError(f"Secret {namespace}/{name} has an empty {', '.join(empty)}")
    return hashlib.sha256("\0".join(data[k] for k in SECRET_KEYS).encode()).hexdigest()


@dataclass
class Runtime:
    settings: Settings
    credential_env: Mapping[str, str]
    # The operator's own Kubernetes calls (status writes, credential Secrets); set at startup.
    kube: KubeApi | None = None
    default: Identity | None = None
    secrets: SecretReader | None = None
    # sha256 of a namespace Secret's credential -> its identity, least recently used first.
    _identities: OrderedDict[str, _Held] = field(default_factory=OrderedDict)
    # namespace -> the key of the credential its Secret held when last read.
    _namespace_keys: dict[str, str] = field(default_factory=dict)
    # Identities out of the cache that a running pass still holds; closed when it ends.
    _retiring: list[_Held] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)
    metrics_server: MetricsServer | None = None
    # Slots for the Azure part of passes, granted in turn across namespaces.
    fairshare: FairShare = field(init=False)
    # uid -> monotonic time of the next reconcile pass the daemon should make.
    _due: dict[str, float] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    # uid -> the status this process last wrote (newer than a daemon's body may be).
    _status: dict[str, dict[str, Any]] = field(default_factory=dict)
    # uid -> monotonic time before which no further resize is re-issued (backoff).
    _resize_after: dict[str, float] = field(default_factory=dict)
    # uid -> monotonic time before which Azure asked not to be called (Retry-After).
    _hold_until: dict[str, float] = field(default_factory=dict)
    # uid -> set when a daemon's object is rescheduled or nudged (see until_due).
    _wakeups: dict[str, asyncio.Event] = field(default_factory=dict)
    # uid -> the warnings last posted for it (see status.events_to_post).
    _warned: dict[str, frozenset[tuple[str, str]]] = field(default_factory=dict)
    # uids nudged since their current pass began (see begin_pass).
    _nudged: set[str] = field(default_factory=set)
    # ManagedImage uid -> (ready, deleting, effective id) last seen (see image_changed).
    _images: dict[str, tuple[bool, bool, str | None]] = field(default_factory=dict)
    # Names this cluster in owner marks (settings.cluster_id, or kube-system's uid).
    cluster_id: str = ""
    # uid -> (dedicated, low-priority) nodes admitted for a BatchPool by this process:
    # newer than the index's copy from status, and reserved before any Azure call.
    admitted: dict[str, tuple[int, int]] = field(default_factory=dict)
    # Kopf's per-object bookkeeping (see persistence.py).
    diffbase: MemoryDiffBaseStorage = field(default_factory=MemoryDiffBaseStorage)
    progress: MemoryProgressStorage = field(
        default_factory=lambda: MemoryProgressStorage(prefix=GROUP))

    def __post_init__(self) -> None:
        self.fairshare = FairShare(self.settings.azure_concurrency, self.metrics.slot_waiting)

    def _identity(self, creds: CredentialSettings, env: Mapping[str, str]) -> Identity:
        credential = build_credential(creds, ca_bundle=self.settings.ca_bundle, env=env)
        clients = AzureClients(self.settings, credential,
                               ObservePolicy(self.metrics.azure_request))
        compute = ComputeGateway(clients)
        accounts = BatchAccountGateway(clients, max_age=self.settings.poll_interval / 2)
        return Identity(clients, ImageGateways(compute, accounts),
                        PoolGateways(PoolGateway(clients), compute, accounts))

    @contextlib.asynccontextmanager
    async def identity(self, namespace: str | None) -> AsyncIterator[Identity]:
        """The identity one pass in ``namespace`` uses, held until the pass ends.

        With BIO_NAMESPACE_CREDENTIAL_SECRET set, the namespace's Secret; without that
        Secret, SecretError (or ours, with BIO_NAMESPACE_CREDENTIAL_FALLBACK=operator).
        """
        held = await self._namespace_identity(namespace)
        if held is None:
            assert self.default is not None
            yield self.default
            return
        try:
            yield held.identity
        finally:
            held.leases -= 1
            await self._close_unused()

    async def _namespace_identity(self, namespace: str | None) -> _Held | None:
        """The namespace's identity, already leased to the caller; None: the default."""
        name = self.settings.namespace_credential_secret
        if not name or not namespace:
            return None
        try:
            data = await self._secret_reader().get(namespace, name)
            if data is None and self.settings.namespace_credential_fallback == "operator":
                self._drop_namespace(namespace)
                return None
            key = _credential_key(namespace, name, data)
        except SecretError:
            # A Secret that went or broke takes its identity with it.
            self._drop_namespace(namespace)
            await self._close_unused()
            raise
        assert data is not None
        held = self._lease(namespace, key, data)
        await self._close_unused()
        return held

    def _secret_reader(self) -> SecretReader:
        if self.secrets is None:
            if self.kube is None:
                raise SecretError("no Kubernetes login to read credential Secrets with")
            self.secrets = SecretReader(self.kube, self.settings.secret_cache_seconds,
                                        SECRET_KEYS)
        return self.secrets

    def _lease(self, namespace: str, key: str, data: Mapping[str, str]) -> _Held:
        """The identity for this credential content, leased: made once, kept while a
        namespace uses it and within the LRU bound (BIO_CREDENTIAL_CACHE_SIZE).

        No await in here: the cache and the lease change together, so no other pass
        can retire and close this identity between its lookup and its lease.
        """
        held = self._identities.get(key)
        if held is None:
            base = CredentialSettings.from_env(self.credential_env)
            creds = CredentialSettings(
                tenant_id=data["AZURE_TENANT_ID"], client_id=data["AZURE_CLIENT_ID"],
                authority_host=base.authority_host, federated_token_file=None,
                has_client_secret=True)
            held = _Held(self._identity(
                creds, {"AZURE_CLIENT_SECRET": data["AZURE_CLIENT_SECRET"]}))
            self._identities[key] = held
        held.leases += 1
        self._identities.move_to_end(key)
        before = self._namespace_keys.get(namespace)
        self._namespace_keys[namespace] = key
        if before is not None and before != key:
            self._release(before)  # the Secret changed: its old identity goes
        while len(self._identities) > self.settings.credential_cache_size:
            oldest = next(iter(self._identities))
            for ns in [n for n, k in self._namespace_keys.items() if k == oldest]:
                del self._namespace_keys[ns]  # made again on its next pass
            self._retire(oldest)
        return held

    def _drop_namespace(self, namespace: str) -> None:
        key = self._namespace_keys.pop(namespace, None)
        if key is not None:
            self._release(key)

    def _release(self, key: str) -> None:
        """No namespace uses this credential any more (others may share it)."""
        if key not in self._namespace_keys.values():
            self._retire(key)

    def _retire(self, key: str) -> None:
        held = self._identities.pop(key, None)
        if held is not None:
            self._retiring.append(held)

    async def _close_unused(self) -> None:
        """Close retired identities (sessions, SDK clients, credential) that no pass
        holds: closing one under a running pass would fail that pass's calls."""
        done = [h for h in self._retiring if h.leases == 0]
        self._retiring = [h for h in self._retiring if h.leases > 0]
        for held in done:
            try:
                await held.identity.clients.close()
            except Exception as exc:  # a failed close must not fail the pass
                log.warning("closing a namespace identity failed: %s", type(exc).__name__)

    def identities_alive(self) -> int:
        """Namespace identities not yet closed (cached, or retired but still in use)."""
        return len(self._identities) + len(self._retiring)

    async def start(self) -> None:
        self.default = self._identity(CredentialSettings.from_env(self.credential_env),
                                      self.credential_env)
        if self.settings.metrics_port is not None:
            self.metrics_server = MetricsServer(self.metrics, self.settings.metrics_host,
                                                self.settings.metrics_port)
            await self.metrics_server.start()

    async def stop(self) -> None:
        if self.metrics_server is not None:
            await self.metrics_server.stop()
            self.metrics_server = None
        held = [*self._identities.values(), *self._retiring]
        for identity in [self.default, *(h.identity for h in held)]:
            if identity is not None:
                await identity.clients.close()
        self.default = None
        self._identities.clear()
        self._namespace_keys.clear()
        self._retiring.clear()
        self.secrets = None
        if self.kube is not None:
            await self.kube.close()

    def lock(self, uid: str) -> asyncio.Lock:
        return self._locks.setdefault(uid, asyncio.Lock())

    def is_due(self, uid: str) -> bool:
        return time.monotonic() >= self._due.get(uid, 0.0)

    def begin_pass(self, uid: str) -> None:
        """A pass starts and will see the newest indexes: earlier nudges are served."""
        self._nudged.discard(uid)

    def schedule(self, uid: str, requeue: float | None) -> None:
        delay = self.settings.drift_interval if requeue is None else requeue
        if uid in self._nudged:
            # Nudged while this pass ran: it may have read the indexes before the change.
            self._nudged.discard(uid)
            delay = 0.0
        self._due[uid] = time.monotonic() + delay
        self._wake(uid)

    def _wake(self, uid: str) -> None:
        event = self._wakeups.get(uid)
        if event is not None:
            event.set()

    async def until_due(self, uid: str, at_most: float | None = None) -> None:
        """Sleep until the object's next pass is due and no Retry-After holds it, or (once
        it has had a first pass) for ``at_most`` seconds, whichever comes first.

        Waits for the first pass (by a create/update/resume handler) to schedule one, so
        a new object is not passed twice; ``schedule`` and ``nudge`` wake it early.
        """
        event = self._wakeups.setdefault(uid, asyncio.Event())
        deadline = None if at_most is None else time.monotonic() + at_most
        while True:
            event.clear()
            if uid not in self._due:
                await event.wait()
                continue
            at = max(self._due[uid], self._hold_until.get(uid, 0.0))
            if deadline is not None:
                at = min(at, deadline)
            delay = at - time.monotonic()
            if delay <= 0:
                return
            # asyncio.timeout, not wait_for: wait_for wraps the wait in a task of its
            # own, a kilobyte more for each of thousands of sleeping objects.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await event.wait()

    def status_of(self, uid: str, body: Mapping[str, Any]) -> dict[str, Any]:
        cached = self._status.get(uid)
        return dict(cached) if cached is not None else dict(body.get("status") or {})

    def remember_status(self, uid: str, status: dict[str, Any]) -> None:
        self._status[uid] = status

    def warned(self, uid: str) -> frozenset[tuple[str, str]]:
        return self._warned.get(uid, frozenset())

    def remember_warned(self, uid: str, warned: frozenset[tuple[str, str]]) -> None:
        if warned:
            self._warned[uid] = warned
        else:
            self._warned.pop(uid, None)

    def hold_off(self, uid: str, seconds: float) -> None:
        self._hold_until[uid] = time.monotonic() + seconds

    def held_off(self, uid: str) -> bool:
        """Within a Retry-After Azure gave this object: even an edit waits for the daemon."""
        return time.monotonic() < self._hold_until.get(uid, 0.0)

    def nudge(self, uid: str) -> None:
        """Make the object's daemon run a full pass at once.

        An object not passed yet is left to its first pass (by its create or resume
        handler); one whose pass is running gets another right after it.
        """
        self._nudged.add(uid)
        if uid in self._due:
            self._due[uid] = 0.0
            self._wake(uid)

    def image_changed(self, uid: str, image: ImageInfo | None, pools: list[str]) -> None:
        """A ManagedImage event (None: gone): wake the pools naming it if it changed.

        An image seen for the first time (created, or listed after a restart) wakes only
        the pools already waiting for it: after a restart every pool has its own first
        pass, and waking them all would pass each twice.
        """
        state = None if image is None else (image.ready, image.deleting, image.effective_id)
        first = uid not in self._images
        before = self._images.pop(uid, None)
        if state is not None:
            self._images[uid] = state
        if before == state:
            return
        for pool in pools:
            if not first or self._waiting_for_image(pool):
                self.nudge(pool)

    def _waiting_for_image(self, uid: str) -> bool:
        """The object's last pass found its image missing or not Ready."""
        for cond in self._status.get(uid, {}).get("conditions") or []:
            if cond.get("type") == "ImageResolved":
                return bool(cond.get("status") == "False")
        return False

    def resize_wait(self, uid: str) -> float:
        return max(0.0, self._resize_after.get(uid, 0.0) - time.monotonic())

    def resized(self, uid: str, next_in: float) -> None:
        self._resize_after[uid] = time.monotonic() + next_in

    def admit(self, uid: str, nodes: tuple[int, int] | None) -> None:
        if nodes is None:
            self.admitted.pop(uid, None)
        else:
            self.admitted[uid] = nodes

    def forget(self, uid: str) -> None:
        self.admitted.pop(uid, None)
        self._due.pop(uid, None)
        self._locks.pop(uid, None)
        self._resize_after.pop(uid, None)
        self._status.pop(uid, None)
        self._hold_until.pop(uid, None)
        self._wakeups.pop(uid, None)
        self._nudged.discard(uid)
        self._warned.pop(uid, None)
        self.diffbase.forget(uid)
        self.progress.forget(uid)
