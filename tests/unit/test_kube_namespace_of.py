"""Which namespace a Kubernetes request is for: the key its request slot is granted by
(kube/session.py), so one namespace's burst does not hold another's first patch."""

import pytest

from batch_image_operator.kube.session import namespace_in_path


@pytest.mark.parametrize(("path", "namespace"), [
    ("/api/v1/namespaces/team-a/events", "team-a"),
    ("/apis/batchimage.dev/v1alpha1/namespaces/team-a/batchpools/p/status", "team-a"),
    ("/apis/batchimage.dev/v1alpha1/batchpools", ""),
    ("/api/v1/namespaces", ""),
    ("/apis/coordination.k8s.io/v1/namespaces/ops/leases/bio", "ops"),
    # Behind a path prefix (Rancher, an authenticating proxy): found all the same; it
    # was '' for every request there, one FIFO for all namespaces (found in review).
    ("/k8s/clusters/c-1/api/v1/namespaces/team-a/events", "team-a"),
    ("/k8s/clusters/c-1/apis/batchimage.dev/v1alpha1/namespaces/team-b/managedimages/i",
     "team-b"),
    ("/api/proxy/api/v1/namespaces/team-c/secrets/s", "team-c"),
])
def test_the_namespace_of_a_request_path(path: str, namespace: str) -> None:
    assert namespace_in_path(path) == namespace
