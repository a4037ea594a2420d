"""Kubernetes operator for Azure Batch custom-image pools."""

GROUP = "batchimage.dev"
VERSION = "v1alpha1"
__version__ = "0.1.0"
