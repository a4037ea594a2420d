import pytest

from batch_image_operator.azure.observe import operation_name

BASE = "https://arm/subscriptions/s/resourceGroups/r/providers/"


@pytest.mark.parametrize(("method", "url", "expected"), [
    ("GET", BASE + "Microsoft.Compute/images/img?api-version=2026-04-01", "images.get"),
    ("PUT", BASE + "Microsoft.Compute/images/img", "images.put"),
    ("GET", BASE + "Microsoft.Compute/images", "images.list"),
    ("PATCH", BASE + "Microsoft.Batch/batchAccounts/a/pools/p", "pools.patch"),
    ("GET", BASE + "Microsoft.Batch/batchAccounts/a/pools", "pools.list"),
    ("POST", BASE + "Microsoft.Batch/batchAccounts/a/pools/p/stopResize", "pools.stopResize"),
    ("GET", "https://arm/subscriptions/s/providers/Microsoft.Compute/locations/x/operations/1",
     "operations.get"),
])
def test_operation_names_never_carry_resource_names(method, url, expected):
    assert operation_name(method, url) == expected
