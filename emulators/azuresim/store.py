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
        self.operations: dict[str, Record] = {}
        self.state_file = state_file
        self.dirty = False

    # Resources -------------------------------------------------------------------------
    def get(self, resource_id: str) -> Record | None:
        return self.resources.get(resource_id.lower())

    def put(self, record: Record) -> None:
        self.resources[record["id"].lower()] = record
        self.dirty = True

    def delete(self, resource_id: str) -> None:
        """Delete a resource and everything below it (pools go with their account)."""
        key = resource_id.lower()
        for other in [k for k in self.resources if k == key or k.startswith(key + "/")]:
            del self.resources[other]
        self.dirty = True

    def of_type(self, resource_type: str, scope: str = "") -> list[Record]:
        """Resources of one type whose id lies under ``scope`` (sorted by id, like ARM)."""
        scope_key = scope.lower().rstrip("/") + "/"
        wanted = resource_type.lower()
        return sorted(
            (
                r
                for k, r in self.resources.items()
                if r["type"].lower() == wanted and (not scope or k.startswith(scope_key))
            ),
            key=lambda r: str(r["id"]).lower(),
        )

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
        self.resources = data.get("resources", {})
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
