"""Process-wide state the handlers share, by concern: when passes are due (scheduler.py),
what is remembered of each object (memory.py), which pools an image's change wakes
(imagewatch.py), the Azure identities (identities.py), metrics and the fair share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .. import GROUP
from ..config import Settings
from ..fairshare import FairShare
from ..kube.api import KubeApi
from ..metrics import Metrics, MetricsServer
from ..planning.usedby import UsedByPacing
from .identities import Identities
from .imagewatch import ImageWatch
from .memory import ObjectMemory
from .persistence import MemoryDiffBaseStorage, MemoryProgressStorage
from .scheduler import Scheduler

# The longest an image's `usedBy` waits behind its pools while they keep changing.
USED_BY_LONGEST = 60.0


@dataclass
class Runtime:
    settings: Settings
    credential_env: Mapping[str, str]
    # The operator's own Kubernetes calls (status writes, credential Secrets); set at startup.
    kube: KubeApi | None = None
    metrics: Metrics = field(default_factory=Metrics)
    metrics_server: MetricsServer | None = None
    # Slots for the Azure part of passes, granted in turn across namespaces.
    fairshare: FairShare = field(init=False)
    scheduler: Scheduler = field(init=False)
    memory: ObjectMemory = field(default_factory=ObjectMemory)
    image_watch: ImageWatch = field(init=False)
    # When an image's `usedBy` changes are written (coalesced while pools keep coming).
    used_by: UsedByPacing = field(init=False)
    identities: Identities = field(init=False)
    # Names this cluster in owner marks (settings.cluster_id, or kube-system's uid).
    cluster_id: str = ""
    # Kopf's per-object bookkeeping (see persistence.py).
    diffbase: MemoryDiffBaseStorage = field(default_factory=MemoryDiffBaseStorage)
    progress: MemoryProgressStorage = field(
        default_factory=lambda: MemoryProgressStorage(prefix=GROUP))

    def __post_init__(self) -> None:
        self.fairshare = FairShare(self.settings.azure_concurrency, self.metrics.slot_waiting)
        self.scheduler = Scheduler(self.settings.drift_interval)
        self.image_watch = ImageWatch(self.scheduler, self.memory)
        # At most a minute behind while pools keep joining; at once after a quiet spell.
        self.used_by = UsedByPacing(self.settings.poll_interval, USED_BY_LONGEST)
        self.identities = Identities(self.settings, self.credential_env, self.metrics,
                                     lambda: self.kube)

    async def start(self) -> None:
        self.identities.start()
        if self.settings.metrics_port is not None:
            self.metrics_server = MetricsServer(self.metrics, self.settings.metrics_host,
                                                self.settings.metrics_port)
            await self.metrics_server.start()

    async def stop(self) -> None:
        if self.metrics_server is not None:
            await self.metrics_server.stop()
            self.metrics_server = None
        await self.identities.stop()
        if self.kube is not None:
            await self.kube.close()

    def forget(self, uid: str) -> None:
        """The object is gone: every per-object memory lets go of it."""
        self.scheduler.forget(uid)
        self.memory.forget(uid)
        self.used_by.forget(uid)
        self.diffbase.forget(uid)
        self.progress.forget(uid)
        self.metrics.object_ready(uid, "", None)
