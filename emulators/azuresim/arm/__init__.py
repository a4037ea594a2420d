"""Azure Resource Manager surfaces: resource groups, Microsoft.Compute, Microsoft.Batch."""
