"""The Azure `operation` label: a fixed set of names, whatever URL the SDK calls."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batch_image_operator.azure.observe import OPERATIONS, ObservePolicy, operation_name

ARM = "https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/"
GALLERY = ARM + "Microsoft.Compute/galleries/g/images/def"


@pytest.mark.parametrize(("method", "url", "expected"), [
    # The data plane is addressed by the account's host name (and a path, in the
    # emulator): neither may become the label, as it did before (`<host>.get`).
    ("GET", "https://batchdemo.westeurope.batch.azure.com/nodecounts?api-version=2025-06-01",
     "nodeCounts.list"),
    ("GET", "https://127.0.0.1:4443/batch/batchdemo/nodecounts?$skiptoken=x",
     "nodeCounts.list"),
    ("GET", "https://acct.eastus.batch.azure.com/supportedimages?api-version=1",
     "supportedImages.list"),
    ("GET", "https://acct.eastus.batch.azure.com/pools/p1/nodes", "dataPlane.other"),
    # Gallery image definitions are not managed images.
    ("GET", GALLERY, "galleryImages.get"),
    ("PUT", GALLERY + "/versions/1.0.0", "galleryImageVersions.put"),
    ("GET", GALLERY + "/versions", "galleryImageVersions.list"),
    ("GET", ARM + "Microsoft.Batch/batchAccounts/batchdemo", "batchAccounts.get"),
    ("POST", ARM + "Microsoft.Batch/batchAccounts/a/pools/p/disableAutoScale",
     "pools.disableAutoScale"),
    ("POST", ARM + "Microsoft.Compute/virtualMachines/vm/generalize", "virtualMachines.post"),
    ("GET", ARM + "Microsoft.Storage/storageAccounts/sa", "other.get"),
    ("GET", "https://management.azure.com/subscriptions/s/resourcegroups/rg", "resourceGroups.get"),
    ("HEAD", ARM + "Microsoft.Compute/images/img", "images.get"),
    ("GET", "https://management.azure.com/subscriptions/s/providers/Microsoft.Batch/locations/"
            "westeurope/operationResults/abc", "operations.get"),
])
def test_operation_names(method: str, url: str, expected: str) -> None:
    assert operation_name(method, url) == expected
    assert expected in OPERATIONS


SEGMENT = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126,
                                         blacklist_characters="/?#"), min_size=1, max_size=12)


@given(method=st.sampled_from(["GET", "PUT", "PATCH", "DELETE", "POST", "HEAD", "OPTIONS"]),
       host=SEGMENT, path=st.lists(SEGMENT, max_size=12), arm=st.booleans())
def test_any_url_maps_into_the_fixed_set(method: str, host: str, path: list[str],
                                         arm: bool) -> None:
    prefix = ["subscriptions", "s", "resourceGroups", "rg", "providers", "Microsoft.X"] \
        if arm else []
    url = f"https://{host}/" + "/".join(prefix + path)
    assert operation_name(method, url) in OPERATIONS


def test_the_set_is_small() -> None:
    assert len(OPERATIONS) < 150


class _Http:
    def __init__(self, method: str, url: str) -> None:
        self.method, self.url = method, url


class _Request:
    def __init__(self, method: str, url: str) -> None:
        self.http_request = _Http(method, url)
        self.context: dict[str, object] = {}


class _Response:
    class http_response:
        status_code = 503


def test_the_policy_records_each_attempt_with_its_duration() -> None:
    seen: list[tuple[str, int | str, float]] = []
    policy = ObservePolicy(lambda *args: seen.append(args))
    request = _Request("GET", ARM + "Microsoft.Batch/batchAccounts/a/pools/p")
    policy.on_request(request)  # type: ignore[arg-type]
    policy.on_response(request, _Response())  # type: ignore[arg-type]
    policy.on_request(request)  # type: ignore[arg-type]
    policy.on_exception(request)  # type: ignore[arg-type]
    assert [(op, status) for op, status, _ in seen] == [("pools.get", 503), ("pools.get", "error")]
    assert all(0 <= seconds < 5 for _, _, seconds in seen)
