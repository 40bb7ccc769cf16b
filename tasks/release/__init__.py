"""Reproducible images: `inv verify` (two builds compared) and `inv export --oci`."""
