"""Where Kopf keeps its per-object bookkeeping: in this process's memory, not in annotations.

By default Kopf writes two things into each object's annotations: the spec it last
handled (to detect changes) and each handler's progress (plus a marker annotation the
first time). Each is one more PATCH per object, and one more watch event that Kopf then
processes in full: one of a new pool's six watch events went to it.

Neither needs to outlive the process here. Our passes reconcile from the whole spec and
never read Kopf's diff; after a restart Kopf finds nothing stored and reports a create
instead of a resume, and both run the same pass. Our handlers have no Kopf retry limits
or timeouts that a restart could reset; the one write left is Kopf's "touch" that wakes
a delayed retry (a deletion waiting for its Azure resource), which must reach the API
server to come back as an event.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from typing import Any, cast

import kopf

from .. import GROUP
from ..planning.ownership import ADOPT_ANNOTATION
from ..planning.resizes import RESIZE_AGAIN_ANNOTATION
from .status import PAUSED

# Kopf's own build deep-copies the whole object, status included, to throw most of it
# away; only these parts of it can end up in an essence.
_NOT_ESSENCE = frozenset({"status", "metadata", "apiVersion", "kind"})
# Under our prefix, only these annotations are the user's (a change to one runs a pass);
# the rest are Kopf's.
_USER_ANNOTATIONS = frozenset({PAUSED, ADOPT_ANNOTATION, RESIZE_AGAIN_ANNOTATION})
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _uid(body: kopf.Body) -> str:
    return str(body.get("metadata", {}).get("uid"))


def _deleting(body: kopf.Body) -> bool:
    return bool(body.get("metadata", {}).get("deletionTimestamp"))


class MemoryDiffBaseStorage(kopf.DiffBaseStorage):
    """The last handled essence of each object, by uid, kept as compact JSON: a parsed
    essence is several times its text in dicts and strings (1.3 KB against 0.3 KB for a
    small BatchPool), held for every object; it is parsed back only on the object's
    next event."""

    def __init__(self) -> None:
        super().__init__()
        self._essences: dict[str, str] = {}

    def build(self, *, body: kopf.Body,
              extra_fields: Iterable[Any] | None = None) -> kopf.BodyEssence:
        """The spec (and any other top-level field), labels and the user's annotations.

        With Kopf's annotation storages every annotation under our prefix, `paused`
        included, was cleared from the essence, so pausing or resuming a pool went
        unnoticed until its next drift check.
        """
        if extra_fields:
            return super().build(body=body, extra_fields=extra_fields)
        meta = body.get("metadata", {})
        essence: dict[str, Any] = {k: copy.deepcopy(v) for k, v in body.items()
                                   if k not in _NOT_ESSENCE}
        annotations = self._user_annotations(meta.get("annotations") or {})
        labels = dict(meta.get("labels") or {})
        metadata = {k: v for k, v in (("labels", labels), ("annotations", annotations)) if v}
        if metadata:
            essence["metadata"] = metadata
        return cast(kopf.BodyEssence, essence)

    def _user_annotations(self, annotations: Mapping[str, str]) -> dict[str, str]:
        # Other Kopf-based operators mark their prefixes; their bookkeeping is not ours.
        foreign = set(self._detect_marked_prefixes(list(annotations))) - {GROUP}
        kept = {}
        for key, value in annotations.items():
            prefix = key.split("/", 1)[0] if "/" in key else ""
            if key == _LAST_APPLIED or prefix in foreign or (
                    prefix == GROUP and key not in _USER_ANNOTATIONS):
                continue
            kept[key] = value
        return kept

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        if _deleting(body):
            # Kopf decides on deletion before it looks at a diff: nothing to keep from here.
            stored = self._essences.pop(_uid(body), None)
        else:
            stored = self._essences.get(_uid(body))
        return None if stored is None else cast(kopf.BodyEssence, json.loads(stored))

    def store(self, *, body: kopf.Body, patch: kopf.Patch,
              essence: kopf.BodyEssence) -> None:
        if not _deleting(body):
            self._essences[_uid(body)] = json.dumps(essence, separators=(",", ":"))

    def forget(self, uid: str) -> None:
        self._essences.pop(uid, None)

    def __len__(self) -> int:
        return len(self._essences)


class MemoryProgressStorage(kopf.AnnotationsProgressStorage):
    """Handler progress by uid and handler id; only the retry's touch is written."""

    def __init__(self, *, prefix: str) -> None:
        super().__init__(prefix=prefix)
        self._records: dict[str, dict[str, kopf.ProgressRecord]] = {}

    def fetch(self, *, key: Any, body: kopf.Body) -> kopf.ProgressRecord | None:
        return self._records.get(_uid(body), {}).get(str(key))

    def store(self, *, key: Any, record: kopf.ProgressRecord, body: kopf.Body,
              patch: kopf.Patch) -> None:
        self._records.setdefault(_uid(body), {})[str(key)] = record

    def purge(self, *, key: Any, body: kopf.Body, patch: kopf.Patch) -> None:
        records = self._records.get(_uid(body))
        if records is not None:
            records.pop(str(key), None)
            if not records:
                del self._records[_uid(body)]

    def clear(self, *, essence: kopf.BodyEssence) -> kopf.BodyEssence:
        # The essence built above holds none of Kopf's keys; Kopf's own clear would also
        # drop the user's `paused` annotation (and copy the essence once more).
        return essence

    def forget(self, uid: str) -> None:
        self._records.pop(uid, None)

    def __len__(self) -> int:
        return len(self._records)
