"""What `inv publish --by-digest` leaves for the merge: one small JSON file per cell naming the
manifest digest its content tag holds, so that the job that merges (`inv publish.merge DIR`, once
every cell's job is done) writes its indexes over exactly what the cells' jobs pushed or found.

A record is ``<DIR>/<target>.json``: {"format": 1, "target": ..., "image": "registry/repo:content tag",
"digest": "sha256:..."}. The merge reads every ``*.json`` under its directory, at any depth (a CI
that downloads each cell's artifact into a folder of its own, or all into one).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..shared.errors import bad_input

# Where `--by-digest` writes its records, relative to the project root.
DIGESTS_DIR = "build/publish-digests"
RECORD_FORMAT = 1
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class DigestRecord:
    target: str
    image: str  # registry/repository:content tag
    digest: str


def record_text(record: DigestRecord) -> str:
    document = {
        "format": RECORD_FORMAT,
        "target": record.target,
        "image": record.image,
        "digest": record.digest,
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def write_records(directory: Path, records: Iterable[DigestRecord]) -> list[Path]:
    """One file per record under ``directory`` (made if missing; an older record of a cell replaced)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for record in records:
        path = directory / f"{record.target}.json"
        path.write_text(record_text(record))
        written.append(path)
    return written


def parse_record(text: str, where: str) -> DigestRecord:
    """A record file's content; anything else is bad input naming the file."""
    try:
        document = json.loads(text)
    except ValueError:
        raise bad_input(f"{where}: not a digest record (not JSON)") from None
    if not isinstance(document, dict) or document.get("format") != RECORD_FORMAT:
        raise bad_input(f"{where}: not a digest record of format {RECORD_FORMAT}")
    fields = {key: document.get(key) for key in ("target", "image", "digest")}
    if not all(isinstance(value, str) and value for value in fields.values()):
        raise bad_input(f"{where}: a digest record needs target, image and digest")
    if not _DIGEST.match(str(fields["digest"])):
        raise bad_input(f"{where}: digest {fields['digest']!r} is not sha256:<64 hex>")
    return DigestRecord(str(fields["target"]), str(fields["image"]), str(fields["digest"]))


def read_records(directory: Path) -> dict[str, DigestRecord]:
    """Every record under ``directory`` by target; one target recorded twice with different
    contents, or no directory, is bad input."""
    if not directory.is_dir():
        raise bad_input(f"{directory}: no such directory (the cells' digest records)")
    records: dict[str, DigestRecord] = {}
    for path in sorted(directory.rglob("*.json")):
        record = parse_record(path.read_text(encoding="utf-8", errors="replace"), str(path))
        known = records.setdefault(record.target, record)
        if known != record:
            raise bad_input(
                f"{path}: {record.target} is recorded twice, as {known.digest} and {record.digest}"
            )
    return records


def record_mismatches(
    records: Mapping[str, DigestRecord], expected: Mapping[str, str], found: Mapping[str, str]
) -> list[str]:
    """Why the records can't be merged, one phrase per cell: ``expected`` is each cell's image
    (registry/repository:content tag) as this checkout computes it, ``found`` the digest the
    registry gives for it ("" when it has none)."""
    problems = []
    for target, image in expected.items():
        record = records.get(target)
        if record is None:
            problems.append(f"{target}: no digest record (its job did not publish it)")
        elif record.image != image:
            problems.append(f"{target}: recorded {record.image}, this checkout publishes {image}")
        elif found.get(target) != record.digest:
            held = found.get(target) or "nothing"
            problems.append(f"{target}: recorded {record.digest}, the registry has {held} at {image}")
    return problems
