"""Where the private engine, the local registry and the supply mode keep their state: one root,
so `engine.down` knows what is ours."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .settings import Settings


@dataclass(frozen=True)
class EnginePaths:
    """Where the private engine keeps everything; all below one root so `down` knows what is ours."""

    root: Path

    @property
    def apt(self) -> Path:
        return self.root / "apt"

    @property
    def unpacked(self) -> Path:
        return self.root / "root"

    @property
    def data(self) -> Path:
        return self.root / "engine" / "data"

    @property
    def exec_root(self) -> Path:
        return self.root / "engine" / "exec"

    @property
    def pid_file(self) -> Path:
        return self.root / "engine" / "dockerd.pid"

    @property
    def log_file(self) -> Path:
        return self.root / "engine" / "dockerd.log"

    @property
    def registry_dir(self) -> Path:
        return self.root / "registry"

    @property
    def mode_file(self) -> Path:
        return self.root / "supply-mode"


def paths(config: Settings) -> EnginePaths:
    return EnginePaths(Path(config.engine.root))
