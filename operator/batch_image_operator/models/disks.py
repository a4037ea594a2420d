"""The disks an image is built from, whatever they come from (pure).

An image is an OS disk plus data disks by LUN, and every disk of one image comes from
the same kind of source: a snapshot (its ARM id) or a VHD (its blob URL). Parsing the
disks, listing their sources and shaping Azure's storage profile are the same for both;
only how one source is read and referenced differs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .errors import FieldError
from .fields import enum_field, str_field

MAX_LUN = 63
Source = TypeVar("Source")


@dataclass(frozen=True)
class DataDisk(Generic[Source]):
    lun: int
    source: Source


@dataclass(frozen=True)
class Disks(Generic[Source]):
    os_source: Source
    os_type: str  # Linux | Windows
    os_state: str  # Generalized | Specialized
    data_disks: tuple[DataDisk[Source], ...] = ()

    def sources(self) -> tuple[Source, ...]:
        """The OS disk's source, then the data disks' in order."""
        return (self.os_source, *(d.source for d in self.data_disks))

    def storage_profile(self, reference: Callable[[Source], dict[str, Any]]) -> dict[str, Any]:
        """The image's storageProfile; ``reference`` is how one disk names its source."""
        return {"osDisk": {"osType": self.os_type, "osState": self.os_state,
                           **reference(self.os_source)},
                "dataDisks": [{"lun": d.lun, **reference(d.source)} for d in self.data_disks]}


def parse_os(raw: Mapping[str, Any], path: str, errors: list[FieldError]) -> tuple[str, str]:
    """The OS disk's type and state at ``path``."""
    os_type = str_field(raw, "osType", errors, path, required=True)
    enum_field(os_type, ("Linux", "Windows"), f"{path}.osType", errors)
    os_state = str_field(raw, "osState", errors, path, default="Generalized")
    enum_field(os_state, ("Generalized", "Specialized"), f"{path}.osState", errors)
    return os_type, os_state


def parse_data_disks(raw: Any, path: str, errors: list[FieldError],
                     source: Callable[[Mapping[str, Any], str], Source | None],
                     ) -> tuple[DataDisk[Source], ...]:
    """The data disks listed at ``path``, each with a LUN of its own; ``source`` reads one
    disk's source (given the disk and its path) or records why it cannot and says None."""
    disks: list[DataDisk[Source]] = []
    luns: set[int] = set()
    for i, disk in enumerate(raw or []):
        dpath = f"{path}[{i}]"
        lun = disk.get("lun") if isinstance(disk, Mapping) else None
        if not isinstance(lun, int) or isinstance(lun, bool) or not 0 <= lun <= MAX_LUN:
            errors.append(FieldError(f"{dpath}.lun",
                                     f"must be an integer between 0 and {MAX_LUN}"))
            continue
        if lun in luns:
            errors.append(FieldError(f"{dpath}.lun", f"Duplicate value: {lun}"))
        luns.add(lun)
        found = source(disk, dpath)
        if found is not None:
            disks.append(DataDisk(lun, found))
    return tuple(disks)
