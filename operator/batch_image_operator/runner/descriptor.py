"""What the pass runner needs of a kind, beyond the reconcilers' part of it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic

import kopf

from ..reconcilers.kind import CtxT, Kind, SpecT

if TYPE_CHECKING:
    from .runtime import Runtime


@dataclass(frozen=True)
class Call:
    """What Kopf hands a handler of one object."""

    name: str
    namespace: str | None
    spec: Mapping[str, Any]
    body: kopf.Body
    uid: str
    indexes: Mapping[str, Any]  # Kopf's indexes (pool_index, image_index, ...) by id


@dataclass(frozen=True)
class KindPass(Generic[SpecT, CtxT]):
    """One kind to the runner: its plural, its reconcilers' descriptor (parse, scope,
    reconcile and delete steps), how a pass learns its context from Kubernetes, and the
    status it keeps in step between passes without an Azure call."""

    plural: str
    kind: Kind[SpecT, CtxT]
    context: Callable[[Runtime, Call], CtxT]  # built under the lock, once a pass begins
    # Run instead of a pass that is not due; a kind that has it wakes each poll interval.
    between: Callable[[Runtime, Call], Awaitable[None]] | None = None

    @property
    def name(self) -> str:
        return self.kind.name

    @property
    def bodies(self) -> str:
        """The id of the Kopf index holding each object's body for its scheduled passes."""
        return f"{self.plural}_bodies"
