"""python-on-whales, imported on first use.

It pulls in pydantic (~0.3 s of start-up), which most `inv` calls, `inv build` among them, never need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from python_on_whales import DockerClient
    from python_on_whales.exceptions import DockerException


def client() -> DockerClient:
    from python_on_whales import DockerClient

    return DockerClient()


def docker_error() -> type[DockerException]:
    """The exception python-on-whales raises when a docker command fails."""
    from python_on_whales.exceptions import DockerException

    return DockerException
