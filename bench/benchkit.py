"""What the build benchmarks share: reading the progress `inv build --progress rawjson` prints."""

from __future__ import annotations

from tasks.bake.progress import RawJsonReader

# `inv build` says this before its second pass (images into the engine), which reports every step
# again, all cached: only the lines before it describe the build itself.
LOAD_PASS_MARK = "bakehouse: loading "


def build_pass_progress(stderr: str) -> RawJsonReader:
    """The rawjson progress of the build pass in an `inv build` run's stderr, parsed."""
    reader = RawJsonReader()
    for line in stderr.splitlines():
        if line.startswith(LOAD_PASS_MARK):
            break
        if line.startswith("{"):
            reader.feed(line)
    return reader
