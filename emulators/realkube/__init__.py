"""realkube: the real kube-apiserver (with etcd and kube-controller-manager) for tests.

``python -m realkube --kubeconfig PATH`` starts one cluster (``cluster.py``);
``realkube.launch.run_realkube`` does the same as a subprocess for a test session. Test
infrastructure only: production code never imports it. Import from the submodules: under
pytest, tests/realkube shares this package's name, so this file may not be the one run."""
