"""`inv lint`: shellcheck, hadolint, digest pinning, bake checks, ruff, mypy and actionlint."""
