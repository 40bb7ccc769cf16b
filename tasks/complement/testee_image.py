"""The per-run testee image: the built testee, committed again with the run's label.

Complement starts every homeserver from it and commits its blueprints from those, so every
container and image of the run inherits the label, and the sweep finds them by it.
"""

from __future__ import annotations

from ..shared.errors import BakehouseError
from ..shared.process import docker
from .isolation import RUN_LABEL


def make_run_image(testee_image: str, reference: str, run_id: str, container_name: str) -> None:
    """A copy of the testee image with the run label: every container Complement starts from it,
    and every blueprint it commits, inherits the label."""
    if not docker("image", "inspect", testee_image, check=False).ok:
        raise BakehouseError(f"testee image {testee_image} is not in the engine (was the build loaded?)")
    docker(
        "create", "--name", container_name, "--label", f"{RUN_LABEL}={run_id}", testee_image,
        what="creating the per-run testee container",
    )  # fmt: skip
    try:
        docker(
            "commit", "--change", f"LABEL {RUN_LABEL}={run_id}", container_name, reference,
            what="committing the per-run testee image",
        )  # fmt: skip
    finally:
        docker("rm", "-f", container_name, check=False)
