"""Fixtures for the Kubernetes platform tests: the Kubernetes API test double (tests/k8s_double/)."""

from __future__ import annotations

import pytest
from k8s_double.server import K8sDouble
from k8s_platform import NAMESPACE, Double, deployment


@pytest.fixture
def k8s(tmp_path):
    """A fresh Kubernetes API double with namespace `production` and a ready stratum-api Deployment."""
    with K8sDouble(ready_delay=0.2, deadline_scale=0.005) as server:
        double = Double(server, server.write_kubeconfig(tmp_path / "kubeconfig"))
        double.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        double.create(deployment())
        double.wait_complete()
        yield double
