"""A ManagedImage built from VHD blobs: the source, parsed and validated (pure).

Each blob must live on the storage account the spec names, so that the allow-list
check of that account covers every blob the image is built from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .armid import InvalidResourceId, ResourceId, parse_resource_id
from .disks import Disks, parse_data_disks, parse_os
from .errors import FieldError

_BLOB = re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?/[-A-Za-z0-9._~/]+\.vhd$")


@dataclass(frozen=True)
class VhdSource(Disks[str]):
    """An image's disks from VHD blobs (their URLs)."""

    # The storage account holding the blobs: what the allow-list checks.
    storage_account_id: ResourceId | None = None


def _blob(raw: Any, path: str, errors: list[FieldError]) -> str:
    if not isinstance(raw, str) or not _BLOB.match(raw) or ".." in raw:
        errors.append(FieldError(path, "an https:// blob URL of a .vhd, without query string"))
        return ""
    return raw


def _storage_account(raw: Any, path: str, errors: list[FieldError]) -> ResourceId | None:
    try:
        return parse_resource_id(str(raw), namespace="Microsoft.Storage",
                                 types=("storageAccounts",))
    except InvalidResourceId as exc:
        errors.append(FieldError(path, f"the storage account holding the VHDs: {exc}"))
        return None


def _on_account(uri: str, account: ResourceId | None, suffix: str, path: str,
                errors: list[FieldError]) -> None:
    """A blob must live on the named (and so allow-listed) storage account."""
    if not uri or account is None:
        return
    host = uri.split("/", 3)[2].split(":", 1)[0].lower()
    want = f"{account.name.lower()}.blob.{suffix.lower()}"
    if host != want:
        errors.append(FieldError(path, f"must be a blob of storage account {account.name} "
                                       f"(https://{want}/...), got host {host}"))


def parse_vhd(raw: Any, errors: list[FieldError], storage_suffix: str) -> VhdSource | None:
    path = "spec.source.vhd"
    if not isinstance(raw, Mapping):
        errors.append(FieldError(path, "must be an object"))
        return None
    account = _storage_account(raw.get("storageAccountId"), f"{path}.storageAccountId", errors)
    uri = _blob(raw.get("blobUri"), f"{path}.blobUri", errors)
    _on_account(uri, account, storage_suffix, f"{path}.blobUri", errors)
    os_type, os_state = parse_os(raw, path, errors)

    def data_blob(disk: Mapping[str, Any], dpath: str) -> str | None:
        blob = _blob(disk.get("blobUri"), f"{dpath}.blobUri", errors)
        _on_account(blob, account, storage_suffix, f"{dpath}.blobUri", errors)
        return blob or None

    disks = parse_data_disks(raw.get("dataDisks"), f"{path}.dataDisks", errors, data_blob)
    return VhdSource(uri, os_type, os_state, disks, account)
