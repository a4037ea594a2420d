"""The Azure identities passes use: the operator's own, and each namespace's from its
credential Secret (BIO_NAMESPACE_CREDENTIAL_SECRET), cached, leased per pass and closed
when no pass holds them any more. Nothing here is per object.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass

from ..azure.clients import AzureClients
from ..azure.credentials import build_credential
from ..azure.dataplane import BatchAccountGateway
from ..azure.gateway import ComputeGateway, PoolGateway
from ..azure.observe import ObservePolicy
from ..config import CredentialSettings, Settings
from ..kube.api import KubeApi
from ..kube.secrets import SecretError, SecretReader
from ..metrics import Metrics
from ..reconcilers.kind import Gateways

SECRET_KEYS = ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET")
log = logging.getLogger(__name__)


@dataclass
class Identity:
    """One Azure identity's clients and gateways (the operator's, or a namespace's)."""

    clients: AzureClients
    gateways: Gateways

    async def close(self) -> None:
        """Shared requests first (cancelled), then the sessions, clients and credential."""
        if self.gateways.accounts is not None:
            await self.gateways.accounts.close()
        await self.clients.close()


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


class Identities:
    def __init__(self, settings: Settings, credential_env: Mapping[str, str],
                 metrics: Metrics, kube: Callable[[], KubeApi | None]) -> None:
        self.settings, self.credential_env = settings, credential_env
        self._metrics, self._kube = metrics, kube
        self.default: Identity | None = None
        self.secrets: SecretReader | None = None
        # sha256 of a namespace Secret's credential -> its identity, least recently used first.
        self._identities: OrderedDict[str, _Held] = OrderedDict()
        # namespace -> the key of the credential its Secret held when last read.
        self._namespace_keys: dict[str, str] = {}
        # Identities out of the cache that a running pass still holds; closed when it ends.
        self._retiring: list[_Held] = []

    def _identity(self, creds: CredentialSettings, env: Mapping[str, str]) -> Identity:
        credential = build_credential(creds, ca_bundle=self.settings.ca_bundle, env=env)
        clients = AzureClients(self.settings, credential,
                               ObservePolicy(self._metrics.azure_request))
        compute = ComputeGateway(clients)
        accounts = BatchAccountGateway(clients, max_age=self.settings.poll_interval / 2)
        return Identity(clients, Gateways(compute, PoolGateway(clients), accounts))

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
            kube = self._kube()
            if kube is None:
                raise SecretError("no Kubernetes login to read credential Secrets with")
            self.secrets = SecretReader(kube, self.settings.secret_cache_seconds,
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
                await held.identity.close()
            except Exception as exc:  # a failed close must not fail the pass
                log.warning("closing a namespace identity failed: %s", type(exc).__name__)

    def identities_alive(self) -> int:
        """Namespace identities not yet closed (cached, or retired but still in use)."""
        return len(self._identities) + len(self._retiring)

    def start(self) -> None:
        self.default = self._identity(CredentialSettings.from_env(self.credential_env),
                                      self.credential_env)

    async def stop(self) -> None:
        held = [*self._identities.values(), *self._retiring]
        for identity in [self.default, *(h.identity for h in held)]:
            if identity is not None:
                await identity.close()
        self.default = None
        self._identities.clear()
        self._namespace_keys.clear()
        self._retiring.clear()
        self.secrets = None
