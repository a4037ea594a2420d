"""Operator settings, read once at startup from the environment.

The names are azure-identity's own (AZURE_TENANT_ID, AZURE_CLIENT_ID, ...) plus a few
of ours, so the same variables drive real Azure and the project's emulator.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

# ConfigError is re-exported: callers catch it from here.
from .envvalues import ConfigError as ConfigError
from .envvalues import (
    choice,
    count,
    dns_name,
    host,
    host_suffix,
    optional_count,
    port,
    seconds,
)
from .models.allowlist import UNRESTRICTED, AllowList
from .models.armid import InvalidResourceId, ResourceId, is_guid, parse_resource_id
from .planning.lease import LeaseTimings
from .planning.limits import Limits

PUBLIC_ARM = "https://management.azure.com"
PUBLIC_ARM_SCOPE = "https://management.azure.com/.default"
# Batch account endpoints of Azure's public cloud (<account>.<region>.batch.azure.com).
PUBLIC_BATCH_SUFFIX = "batch.azure.com"
KNOWN_AUTHORITIES = {
    "login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn",
}


# Default Azure-calling passes at once per Azure connection (see _concurrency).
PASSES_PER_CONNECTION = 4


@dataclass(frozen=True)
class Settings:
    subscription_id: str
    arm_endpoint: str = PUBLIC_ARM
    arm_scope: str = PUBLIC_ARM_SCOPE
    ca_bundle: str | None = None
    # How often an object with an Azure operation in flight is looked at again.
    poll_interval: float = 10.0
    # How often a converged object is re-read to detect drift (one read, zero writes).
    drift_interval: float = 300.0
    # How often a blocked deletion re-checks its users.
    blocked_retry: float = 15.0
    namespaces: tuple[str, ...] = ()  # empty: all namespaces
    retry_total: int = 3
    # Concurrent connections to Azure per identity (one shared, bounded pool).
    azure_connections: int = 32
    # Concurrent Azure-calling passes, shared fairly between namespaces (see
    # fairshare.py); None: no gate. From the environment it defaults to
    # 4 x azure_connections.
    azure_concurrency: int | None = 128
    # Concurrent Kubernetes API requests (watch streams not counted).
    kube_connections: int = 16
    # Loopback unless told otherwise: a bare process exposes nothing to the network; the
    # chart binds 0.0.0.0 explicitly (values metrics.bindAddress / health.bindAddress).
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = 8080  # None: no metrics endpoint; 0: any free port
    health_host: str = "127.0.0.1"
    health_port: int | None = 8081
    log_format: str = "text"
    # Re-issuing resizes that end short of target (the guide: big pools need several).
    max_resize_attempts: int = 10
    resize_backoff: float = 30.0
    # Batch accounts whose pools are checked before an image is deleted, even pools
    # not managed here (and the source of Batch's supported-image list).
    batch_accounts: tuple[ResourceId, ...] = ()
    # A Secret of this name in an object's namespace supplies that namespace's Azure
    # credential (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET).
    namespace_credential_secret: str | None = None
    secret_cache_seconds: float = 60.0
    # --- Where credentials and tokens may go (secure by default) ---
    # Which scopes each namespace may target; the default (no scopes) allows nothing.
    allowlist: AllowList = field(default_factory=AllowList)
    # The Batch data-plane token goes only to hosts under this suffix (host[:port]).
    batch_endpoint_suffix: str = PUBLIC_BATCH_SUFFIX
    # A namespace without its credential Secret: "deny" (CredentialError) or "operator"
    # (use the operator's own identity).
    namespace_credential_fallback: str = "deny"
    # At most this many namespace identities (Azure clients + sessions) are kept.
    credential_cache_size: int = 64
    # --- end ---
    limits: Limits = field(default_factory=Limits)
    # --- ownership and tenancy (docs/security.md) ---
    # Names this cluster in the owner mark on Azure resources; empty: the kube-system
    # namespace's uid, read at startup.
    cluster_id: str = ""
    # Host suffix of the cloud's blob endpoints: a VHD must be a blob of its named account.
    storage_suffix: str = "core.windows.net"
    # Optional per-namespace caps on admitted BatchPools and their nodes (None: no cap).
    namespace_max_pools: int | None = None
    namespace_max_nodes: int | None = None
    # --- leader election (docs/configuration.md, "High availability") ---
    # Off: this process reconciles at once (make demo, a bare run). On: it waits to hold
    # the Lease first, and stops writing to Azure the moment it can no longer renew.
    leader_election: bool = False
    lease_name: str = "batch-image-operator"
    lease_namespace: str = "default"
    lease_timings: LeaseTimings = field(default_factory=LeaseTimings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        sub = env.get("AZURE_SUBSCRIPTION_ID", "")
        if not is_guid(sub):
            raise ConfigError("AZURE_SUBSCRIPTION_ID must be set to a subscription GUID")
        arm = env.get("AZURE_RESOURCE_MANAGER_ENDPOINT", PUBLIC_ARM).rstrip("/")
        if not arm.startswith("https://"):
            raise ConfigError("AZURE_RESOURCE_MANAGER_ENDPOINT must be an https:// URL")
        namespaces = tuple(n for n in env.get("BIO_NAMESPACES", "").replace(",", " ").split() if n)
        connections = count(env, "BIO_AZURE_CONNECTIONS", 32)
        return cls(
            subscription_id=sub,
            arm_endpoint=arm,
            arm_scope=env.get("AZURE_RESOURCE_MANAGER_SCOPE", PUBLIC_ARM_SCOPE),
            ca_bundle=env.get("AZURE_CA_BUNDLE") or None,
            poll_interval=seconds(env, "BIO_POLL_INTERVAL", 10.0),
            drift_interval=seconds(env, "BIO_DRIFT_INTERVAL", 300.0),
            blocked_retry=seconds(env, "BIO_BLOCKED_RETRY", 15.0),
            namespaces=namespaces,
            retry_total=count(env, "BIO_AZURE_RETRY_TOTAL", 3),
            azure_connections=connections,
            azure_concurrency=_concurrency(env, connections),
            kube_connections=count(env, "BIO_KUBE_CONNECTIONS", 16),
            metrics_host=host(env, "BIO_METRICS_HOST"),
            metrics_port=port(env, "BIO_METRICS_PORT", 8080),
            health_host=host(env, "BIO_HEALTH_HOST"),
            health_port=port(env, "BIO_HEALTH_PORT", 8081),
            log_format=choice(env, "BIO_LOG_FORMAT", ("text", "json"), "text"),
            max_resize_attempts=count(env, "BIO_MAX_RESIZE_ATTEMPTS", 10),
            resize_backoff=seconds(env, "BIO_RESIZE_BACKOFF", 30.0),
            batch_accounts=_accounts(env.get("BIO_BATCH_ACCOUNTS", "")),
            namespace_credential_secret=dns_name(env, "BIO_NAMESPACE_CREDENTIAL_SECRET"),
            secret_cache_seconds=seconds(env, "BIO_SECRET_CACHE_SECONDS", 60.0),
            cluster_id=_cluster_id(env.get("BIO_CLUSTER_ID", "")),
            storage_suffix=host_suffix(env, "AZURE_STORAGE_ENDPOINT_SUFFIX", "core.windows.net"),
            namespace_max_pools=optional_count(env, "BIO_NAMESPACE_MAX_POOLS"),
            namespace_max_nodes=optional_count(env, "BIO_NAMESPACE_MAX_NODES"),
            **_trust_settings(env),
            limits=Limits(
                dedicated=count(env, "BIO_LIMIT_DEDICATED", 2500),
                low_priority=count(env, "BIO_LIMIT_LOW_PRIORITY", 1000),
                nat_dedicated=count(env, "BIO_LIMIT_NAT_DEDICATED", 2500),
                nat_low_priority=count(env, "BIO_LIMIT_NAT_LOW_PRIORITY", 1000),
            ),
            **_leader_election(env),
        )


def _leader_election(env: Mapping[str, str]) -> dict[str, Any]:
    timings = LeaseTimings(
        lease_duration=seconds(env, "BIO_LEASE_DURATION", 15.0),
        renew_deadline=seconds(env, "BIO_LEASE_RENEW_DEADLINE", 10.0),
        retry_period=seconds(env, "BIO_LEASE_RETRY_PERIOD", 2.0),
    )
    problems = timings.problems()
    if problems:
        raise ConfigError("BIO_LEASE_DURATION > BIO_LEASE_RENEW_DEADLINE > "
                          f"BIO_LEASE_RETRY_PERIOD is required: {'; '.join(problems)}")
    return {
        "leader_election": choice(env, "BIO_LEADER_ELECTION", ("off", "on"), "off") == "on",
        "lease_name": dns_name(env, "BIO_LEASE_NAME") or "batch-image-operator",
        # The pod's own namespace (the chart passes it from the downward API).
        "lease_namespace": dns_name(env, "BIO_LEASE_NAMESPACE")
        or dns_name(env, "POD_NAMESPACE") or "default",
        "lease_timings": timings,
    }


def _cluster_id(raw: str) -> str:
    # It becomes an ARM tag value and Batch metadata: short and plain.
    if raw and not re.match(r"^[A-Za-z0-9][-A-Za-z0-9_.]{0,62}$", raw):
        raise ConfigError("BIO_CLUSTER_ID must be 1-63 letters, digits, '-', '_' or '.'")
    return raw


def _concurrency(env: Mapping[str, str], connections: int) -> int | None:
    """Four passes per connection by default: a pass holds its slot through its CPU work
    too (SDK pipeline, planning), which on a busy event loop is most of its time, so
    one pass per connection would leave connections idle. Requests beyond the
    connections queue in the pool behind at most this many passes' requests."""
    raw = env.get("BIO_AZURE_CONCURRENCY", "")
    if raw.lower() in {"off", "none", "disabled"}:
        return None
    if raw and not raw.isdigit():
        raise ConfigError(f"BIO_AZURE_CONCURRENCY must be a positive integer or 'off', "
                          f"got {raw!r}")
    value = int(raw) if raw else PASSES_PER_CONNECTION * connections
    if value < 1:
        raise ConfigError("BIO_AZURE_CONCURRENCY must be positive")
    return value


def _accounts(raw: str) -> tuple[ResourceId, ...]:
    try:
        return tuple(parse_resource_id(item, namespace="Microsoft.Batch",
                                       types=("batchAccounts",))
                     for item in raw.replace(",", " ").split() if item)
    except InvalidResourceId as exc:
        raise ConfigError(f"BIO_BATCH_ACCOUNTS: {exc}") from exc


# --- Where credentials and tokens may go ----------------------------------------------

def _trust_settings(env: Mapping[str, str]) -> dict[str, Any]:
    return {
        "allowlist": _allowlist(env.get("BIO_ALLOWLIST_FILE")),
        "batch_endpoint_suffix": host_suffix(env, "AZURE_BATCH_ENDPOINT_SUFFIX",
                                              PUBLIC_BATCH_SUFFIX),
        "namespace_credential_fallback": choice(
            env, "BIO_NAMESPACE_CREDENTIAL_FALLBACK", ("deny", "operator"), "deny"),
        "credential_cache_size": count(env, "BIO_CREDENTIAL_CACHE_SIZE", 64),
    }


def _allowlist(path: str | None) -> AllowList:
    """Read once at startup; a missing, empty or broken allow-list stops the operator
    rather than opening it up. No restriction at all must be asked for by name."""
    if not path:
        raise ConfigError(f"BIO_ALLOWLIST_FILE is not set: set BIO_ALLOWLIST_FILE to a file, "
                          f"or to '{UNRESTRICTED}'")
    if path == UNRESTRICTED:
        return AllowList.unrestricted()
    try:
        with open(path, encoding="utf-8") as fh:
            return AllowList.parse(yaml.safe_load(fh))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, InvalidResourceId) as exc:
        # One line: YAML errors span several, and this is all a crashing pod prints.
        detail = " ".join(str(exc).split())
        raise ConfigError(f"BIO_ALLOWLIST_FILE {path}: {detail}") from exc


# --- end ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CredentialSettings:
    """Which azure-identity route to take; secrets stay in the environment mapping."""

    tenant_id: str | None
    client_id: str | None
    authority_host: str | None
    federated_token_file: str | None
    has_client_secret: bool

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> CredentialSettings:
        env = os.environ if env is None else env
        return cls(
            tenant_id=env.get("AZURE_TENANT_ID") or None,
            client_id=env.get("AZURE_CLIENT_ID") or None,
            authority_host=(env.get("AZURE_AUTHORITY_HOST") or "").rstrip("/") or None,
            federated_token_file=env.get("AZURE_FEDERATED_TOKEN_FILE") or None,
            has_client_secret=bool(env.get("AZURE_CLIENT_SECRET")),
        )

    @property
    def route(self) -> str:
        if self.federated_token_file and self.tenant_id and self.client_id:
            return "workload-identity"
        if self.has_client_secret and self.tenant_id and self.client_id:
            return "client-secret"
        return "managed-identity"

    @property
    def custom_authority(self) -> bool:
        """Instance discovery only works for Azure's own clouds."""
        if not self.authority_host:
            return False
        host = self.authority_host.split("://", 1)[-1].split("/", 1)[0]
        return host not in KNOWN_AUTHORITIES
