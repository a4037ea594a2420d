"""The disks an image is built from (models/disks.py), for snapshot and VHD sources
alike: data disks at LUNs 0 to 63, each LUN once, and one bad disk does not hide the
problems of the next one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from batch_image_operator.models.disks import DataDisk, Disks, parse_data_disks
from batch_image_operator.models.errors import FieldError

OUT_OF_RANGE = "must be an integer between 0 and 63"


def parse(raw: Any) -> tuple[tuple[DataDisk[str], ...], list[FieldError]]:
    errors: list[FieldError] = []

    def source(disk: Mapping[str, Any], path: str) -> str | None:
        if not disk.get("uri"):
            errors.append(FieldError(f"{path}.uri", "Required value"))
            return None
        return str(disk["uri"])

    return parse_data_disks(raw, "spec.dataDisks", errors, source), errors


@pytest.mark.parametrize("lun", [0, 63])
def test_the_first_and_last_lun_are_taken(lun: int) -> None:
    assert parse([{"lun": lun, "uri": "a"}]) == ((DataDisk(lun, "a"),), [])


@pytest.mark.parametrize("lun", [-1, 64, True, "1", None])
def test_a_lun_outside_0_to_63_or_not_an_integer_is_refused(lun: Any) -> None:
    assert parse([{"lun": lun, "uri": "a"}]) == (
        (), [FieldError("spec.dataDisks[0].lun", OUT_OF_RANGE)])


def test_one_bad_disk_does_not_hide_the_next() -> None:
    disks, errors = parse([{"lun": 99, "uri": "a"}, {"lun": 1}, {"lun": 2, "uri": "c"}])
    assert disks == (DataDisk(2, "c"),)
    assert errors == [FieldError("spec.dataDisks[0].lun", OUT_OF_RANGE),
                      FieldError("spec.dataDisks[1].uri", "Required value")]


def test_the_storage_profile_names_each_disk_by_its_source() -> None:
    disks = Disks("os", "Linux", "Generalized", (DataDisk(3, "d3"),))
    assert disks.sources() == ("os", "d3")
    assert disks.storage_profile(lambda uri: {"blobUri": uri}) == {
        "osDisk": {"osType": "Linux", "osState": "Generalized", "blobUri": "os"},
        "dataDisks": [{"lun": 3, "blobUri": "d3"}]}
