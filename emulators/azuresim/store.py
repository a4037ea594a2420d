"""In-memory resource state keyed by lower-cased ARM id (ARM ids are case-insensitive)."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Record = dict[str, Any]


class Store:
    def __init__(self, state_file: Path | None = None) -> None:
        self.resources: dict[str, Record] = {}
        # lower-cased type -> key -> record: a thousand pools are not found by scanning
        # every resource on every request.
        self._by_type: dict[str, dict[str, Record]] = {}
        self.operations: dict[str, Record] = {}
        self.state_file = state_file
        self.dirty = False

    # Resources -------------------------------------------------------------------------
    def get(self, resource_id: str) -> Record | None:
        return self.resources.get(resource_id.lower())

    def put(self, record: Record) -> None:
        key = record["id"].lower()
        self._unindex(key)
        self.resources[key] = record
        self._by_type.setdefault(record["type"].lower(), {})[key] = record
        self.dirty = True

    def delete(self, resource_id: str) -> None:
        """Delete a resource and everything below it (pools go with their account)."""
        key = resource_id.lower()
        for other in [k for k in self.resources if k == key or k.startswith(key + "/")]:
            self._unindex(other)
            del self.resources[other]
        self.dirty = True

    def _unindex(self, key: str) -> None:
        old = self.resources.get(key)
        if old is not None:
            self._by_type.get(old["type"].lower(), {}).pop(key, None)

    def of_type(self, resource_type: str, scope: str = "") -> list[Record]:
        """Resources of one type whose id lies under ``scope`` (sorted by id, like ARM)."""
        scope_key = scope.lower().rstrip("/") + "/"
        return sorted(
            (
                r
                for k, r in self._by_type.get(resource_type.lower(), {}).items()
                if not scope or k.startswith(scope_key)
            ),
            key=lambda r: str(r["id"]).lower(),
        )

    def each_of_type(self, resource_type: str) -> list[Record]:
        """Every resource of one type, in no particular order (for scans that sum)."""
        return list(self._by_type.get(resource_type.lower(), {}).values())

    def touch(self) -> None:
        self.dirty = True

    # Persistence -----------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {"resources": self.resources, "operations": self.operations}

    def load(self) -> dict[str, Any]:
        """Load the state file if it exists; return the extra (non-resource) fields."""
        if self.state_file is None or not self.state_file.exists():
            return {}
        data: dict[str, Any] = json.loads(self.state_file.read_text())
        self.resources = {}
        self._by_type = {}
        for record in data.get("resources", {}).values():
            self.put(record)
        self.dirty = False
        self.operations = data.get("operations", {})
        log.info("loaded %d resources from %s", len(self.resources), self.state_file)
        return data

    def save(self, extra: dict[str, Any]) -> None:
        if self.state_file is None or not self.dirty:
            return
        self.dirty = False
        write_atomic(self.state_file, json.dumps({**self.snapshot(), **extra}, indent=1))


def write_atomic(path: Path, text: str) -> None:
    """Write via a temp file + rename so readers never see a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
