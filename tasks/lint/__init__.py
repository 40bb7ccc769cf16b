"""`inv lint`: shellcheck, hadolint, digest pinning, bake checks, ruff and mypy."""
