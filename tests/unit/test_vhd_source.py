"""A ManagedImage built from VHD blobs: every blob on the storage account the spec names
(so the allow-list check of that account covers them), https .vhd URLs only, every
problem named with its field (models/vhd.py and the field readers of models/fields.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from batch_image_operator.models.disks import DataDisk
from batch_image_operator.models.errors import FieldError
from batch_image_operator.models.fields import enum_field, str_field
from batch_image_operator.models.vhd import VhdSource, parse_vhd

SUB = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"
STORAGE = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st"
OS = "https://st.blob.core.windows.net/vhds/os.vhd"
DATA = "https://st.blob.core.windows.net/vhds/data-0.vhd"
SUFFIX = "core.windows.net"


def vhd(**over: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"storageAccountId": STORAGE, "blobUri": OS, "osType": "Linux"}
    raw.update(over)
    return raw


def parse(raw: Any, suffix: str = SUFFIX) -> tuple[VhdSource | None, dict[str, str]]:
    errors: list[FieldError] = []
    # Through JSON, as the API server hands it over.
    source = parse_vhd(json.loads(json.dumps(raw)), errors, suffix)
    return source, {e.field: e.message for e in errors}


def test_a_vhd_source_with_data_disks_is_parsed() -> None:
    source, problems = parse(vhd(dataDisks=[{"lun": 0, "blobUri": DATA},
                                           {"lun": 63, "blobUri": DATA}]))
    assert problems == {}
    assert source is not None
    assert (source.os_source, source.os_type, source.os_state) == (OS, "Linux", "Generalized")
    assert source.data_disks == (DataDisk(0, DATA), DataDisk(63, DATA))
    assert str(source.storage_account_id) == STORAGE
    specialized, _ = parse(vhd(osType="Windows", osState="Specialized"))
    assert specialized is not None
    assert (specialized.os_type, specialized.os_state) == ("Windows", "Specialized")


def test_a_vhd_source_that_is_not_an_object_is_refused() -> None:
    assert parse("https://st.blob.core.windows.net/vhds/os.vhd") == \
        (None, {"spec.source.vhd": "must be an object"})


@pytest.mark.parametrize("uri", [
    "http://st.blob.core.windows.net/vhds/os.vhd",        # not https
    "https://st.blob.core.windows.net/vhds/os.vhd?sig=x",  # a SAS token
    "https://st.blob.core.windows.net/vhds/os.img",       # not a .vhd
    "https://st.blob.core.windows.net/vhds/../os.vhd",    # climbs out of the container
    "https://st.blob.core.windows.net/a..b/os.vhd",
    42,
])
def test_a_blob_url_that_is_not_a_plain_https_vhd_is_refused(uri: Any) -> None:
    _, problems = parse(vhd(blobUri=uri))
    assert problems["spec.source.vhd.blobUri"] == \
        "an https:// blob URL of a .vhd, without query string"


def test_a_blob_with_a_port_on_the_account_is_accepted() -> None:
    source, problems = parse(vhd(blobUri="https://st.blob.core.windows.net:443/vhds/os.vhd"))
    assert problems == {} and source is not None


@pytest.mark.parametrize("uri", [
    "https://other.blob.core.windows.net/vhds/os.vhd",
    "https://st.blob.core.windows.net.evil.example/vhds/os.vhd",
    "https://evilst.blob.core.windows.net/vhds/os.vhd",
    "https://st.file.core.windows.net/vhds/os.vhd",
])
def test_a_blob_on_another_host_than_the_named_account_is_refused(uri: str) -> None:
    _, problems = parse(vhd(blobUri=uri))
    assert problems["spec.source.vhd.blobUri"].startswith(
        "must be a blob of storage account st (https://st.blob.core.windows.net/...)")


def test_the_account_host_is_compared_case_blind_and_follows_the_cloud() -> None:
    _, problems = parse(vhd(blobUri="https://ST.Blob.Core.Windows.Net/vhds/os.vhd"))
    assert problems == {}
    china = "https://st.blob.core.chinacloudapi.cn/vhds/os.vhd"
    _, problems = parse(vhd(blobUri=china), suffix="Core.ChinaCloudAPI.cn")
    assert problems == {}
    _, problems = parse(vhd(blobUri=OS), suffix="core.chinacloudapi.cn")
    assert "spec.source.vhd.blobUri" in problems


def test_a_data_disk_on_another_account_is_refused() -> None:
    other = "https://other.blob.core.windows.net/vhds/data.vhd"
    _, problems = parse(vhd(dataDisks=[{"lun": 0, "blobUri": DATA}, {"lun": 1, "blobUri": other}]))
    assert list(problems) == ["spec.source.vhd.dataDisks[1].blobUri"]
    assert problems["spec.source.vhd.dataDisks[1].blobUri"].endswith("got host "
                                                                     "other.blob.core.windows.net")


def test_every_bad_data_disk_is_reported() -> None:
    _, problems = parse(vhd(dataDisks=[{"lun": 64, "blobUri": DATA}, {"lun": -1},
                                       {"lun": True, "blobUri": DATA}, "disk",
                                       {"lun": 2, "blobUri": "ftp://x/y.vhd"}]))
    assert problems == {
        "spec.source.vhd.dataDisks[0].lun": "must be an integer between 0 and 63",
        "spec.source.vhd.dataDisks[1].lun": "must be an integer between 0 and 63",
        "spec.source.vhd.dataDisks[2].lun": "must be an integer between 0 and 63",
        "spec.source.vhd.dataDisks[3].lun": "must be an integer between 0 and 63",
        "spec.source.vhd.dataDisks[4].blobUri":
            "an https:// blob URL of a .vhd, without query string",
    }


def test_a_missing_or_malformed_storage_account_is_refused() -> None:
    for account in (None, f"/subscriptions/{SUB}/resourceGroups/rg/providers/"
                          "Microsoft.Compute/snapshots/st"):
        source, problems = parse(vhd(storageAccountId=account))
        assert problems["spec.source.vhd.storageAccountId"].startswith(
            "the storage account holding the VHDs: ")
        assert source is not None and source.storage_account_id is None
        assert "spec.source.vhd.blobUri" not in problems  # nothing to compare the host with


def test_the_os_type_is_required_and_the_state_defaults_to_generalized() -> None:
    raw = vhd()
    del raw["osType"]
    source, problems = parse(raw)
    assert problems == {"spec.source.vhd.osType": "Required value"}
    assert source is not None and source.os_state == "Generalized"
    _, problems = parse(vhd(osType="Solaris", osState="Frozen"))
    assert problems == {
        "spec.source.vhd.osType": "Unsupported value 'Solaris': supported ['Linux', 'Windows']",
        "spec.source.vhd.osState":
            "Unsupported value 'Frozen': supported ['Generalized', 'Specialized']",
    }


def test_str_field_reads_text_and_names_what_is_wrong() -> None:
    errors: list[FieldError] = []
    assert str_field({"a": "x"}, "a", errors, "spec") == "x"
    assert str_field({}, "a", errors, "spec", default="d") == "d"
    assert str_field({}, "a", errors, "spec") == ""
    assert errors == []
    assert str_field({"a": None}, "a", errors, "spec", required=True) == ""
    assert str_field({"a": 5}, "a", errors, "spec") == ""
    assert errors == [FieldError("spec.a", "Required value"),
                      FieldError("spec.a", "must be a string")]


def test_enum_field_accepts_only_the_allowed_values() -> None:
    errors: list[FieldError] = []
    enum_field("V1", ("V1", "V2"), "spec.h", errors)
    enum_field("", ("V1", "V2"), "spec.h", errors)  # absent: the caller's default applies
    assert errors == []
    enum_field("V3", ("V1", "V2"), "spec.h", errors)
    assert errors == [FieldError("spec.h", "Unsupported value 'V3': supported ['V1', 'V2']")]
