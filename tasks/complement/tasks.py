"""`inv complement` tasks: thin wrappers over tasks.complement.gating."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from invoke import Context, task

from tasks.build.bake import bake_build
from tasks.complement.baseline import default_package, import_path, import_summary
from tasks.complement.isolation import make_run_id, namespaces_for, valid_run_id
from tasks.complement.results import (
    parse_results,
    render_results,
    write_atomically,
)
from tasks.complement.runner import Interrupted, daemon_held, refuse_if_busy, run_cell
from tasks.shared.engine import engine_lost
from tasks.shared.errors import BakehouseError, bad_input
from tasks.shared.process import REPO_ROOT, say
from tasks.shared.text_clean import for_terminal

if TYPE_CHECKING:
    pass
from tasks.complement.gating import (
    _cells,
    _gate_cell,
    _settings,
    _testee_env,
)


@task(
    default=True,  # `inv complement` runs the suite; `inv complement.import-baseline` converts baselines
    auto_shortflags=False,  # too many options: generated letters would be arbitrary (and one clashes)
    iterable=["matrix", "testee_env"],
    help={
        "run": "go test -run regex (default: the curated subset in config)",
        "skip": "go test -skip regex (default: the curated flaky list in config; this replaces it)",
        "packages": "suite packages, space or comma separated (default: config)",
        "timeout": "go test -timeout, a Go duration (default: config)",
        "parallel": "go test -parallel (default: config)",
        "count": "go test -count (default: config)",
        "shuffle": "go test -shuffle: off, on or a seed (default: config)",
        "dirty": "reuse homeservers between tests (COMPLEMENT_ENABLE_DIRTY_RUNS): much faster",
        "update_baseline": "write fixes, new and removed tests into the baseline (complete runs only)",
        "accept_regressions": "with --update-baseline: record regressions in the baseline too",
        "report_only": "report regressions but exit 0 for them",
        "matrix": "narrow the matrix: NAME=VALUE, like inv build (repeatable)",
        "builder": "builder for the images (default: the configured one)",
        "no_wait": "fail at once when another Complement run holds the daemon",
        "run_id": "run id for names and labels (default: from the CI job and cell, else random)",
        "testee_env": "NAME=VALUE set in every homeserver container (repeatable)",
        "progress": "build progress: auto | plain | tty | quiet | rawjson",
    },
)
def complement(
    c: Context,
    run: str | None = None,
    skip: str | None = None,
    packages: str | None = None,
    timeout: str | None = None,
    parallel: str | None = None,
    count: str | None = None,
    shuffle: str | None = None,
    dirty: bool = False,
    update_baseline: bool = False,
    accept_regressions: bool = False,
    report_only: bool = False,
    matrix: list[str] | None = None,
    builder: str | None = None,
    no_wait: bool = False,
    run_id: str | None = None,
    testee_env: list[str] | None = None,
    progress: str | None = None,
) -> None:
    """Run the Complement suite against the homeserver image and gate it against the baseline."""
    conf = c.config.bakehouse.complement
    options = {
        "run": run, "skip": skip, "packages": packages, "timeout": timeout, "parallel": parallel,
        "count": count, "shuffle": shuffle, "dirty": dirty,
    }  # fmt: skip
    settings, selection = _settings(c, options)
    shared_env = _testee_env(testee_env or [])
    if run_id is not None and not valid_run_id(run_id.lower()):
        raise bad_input(f"--run-id {run_id!r}: use lower-case letters, digits, '.', '_' or '-' (max 48)")
    if accept_regressions and not update_baseline:
        raise bad_input("--accept-regressions only makes sense with --update-baseline")
    overrides = matrix or []
    cells = _cells(c, overrides)
    if update_baseline and len(cells) > 1:
        raise bad_input("--update-baseline needs exactly one matrix cell (narrow it with --matrix)")
    namespaces, unknown = namespaces_for(settings.packages, dict(conf.namespaces))
    if unknown:
        say(f"no Complement namespace known for {', '.join(unknown)} (complement.namespaces): "
            "its networks are left to Complement's own cleanup")  # fmt: skip
    targets = list(dict.fromkeys(t for cell in cells for t in (cell.tester_target, cell.testee_target)))
    if no_wait:
        refuse_if_busy(str(conf.lock_dir))
    bake_build(c, targets, matrix_overrides=overrides, builder=builder, progress=progress)

    failures: list[str] = []
    for index, cell in enumerate(cells):
        explicit = f"{run_id}-{index}" if run_id and len(cells) > 1 else run_id
        cell_run_id = make_run_id(os.environ, cell.label, explicit=explicit)
        # The lock spans the run, the gate and the reports: a queued run must not touch this cell's
        # results directory (or the baseline) before they are all written.
        with daemon_held(str(conf.lock_dir), cell_run_id, wait=not no_wait):
            try:
                cell_run = run_cell(
                    cell,
                    settings,
                    shared_env,
                    run_id=cell_run_id,
                    name_prefix=str(conf.name_prefix),
                    namespaces=namespaces,
                    stop_timeout=int(conf.stop_timeout),
                    directory=REPO_ROOT / str(conf.results_dir) / cell.label,
                )
            except Interrupted as exc:
                raise BakehouseError(
                    f"interrupted by {exc.signal_name}; run {cell_run_id} cleaned up", exc.exit_code
                ) from None
            except KeyboardInterrupt:
                raise BakehouseError(f"interrupted; run {cell_run_id} cleaned up", 130) from None
            if lost := engine_lost(f"Complement run {cell_run_id}"):
                raise BakehouseError(
                    f"{lost.reason}; the results in {os.path.relpath(cell_run.directory)} are incomplete "
                    "and the baseline is unchanged"
                )
            crash = cell_run.outcome.crash
            if crash is not None:
                # No gate: every remaining test would only have waited for a server that is gone.
                sys.stderr.write(f"--- last lines of {crash.name or crash.container_id[:12]} ---\n")
                log = for_terminal(cell_run.outcome.crash_log or "(no output)", tty=sys.stderr.isatty())
                sys.stderr.write(log + "\n---\n")
                raise BakehouseError(
                    f"{cell.label}: {crash.describe()}; run {cell_run_id} stopped after "
                    f"{cell_run.outcome.seconds:.0f}s (its log is above; tester output in "
                    f"{os.path.relpath(cell_run.directory)})"
                )

            failures += _gate_cell(
                c, cell_run, selection, update_baseline=update_baseline, accept_regressions=accept_regressions
            )
    if failures and not report_only:
        raise BakehouseError("complement: " + " | ".join(failures))
    if failures:
        say("report only, not failing: " + " | ".join(failures))


@task(
    help={
        "source": "the baseline to import: {Action,Test} rows (legacy) or {Action,Package,Test} rows",
        "output": "where to write it (default: the configured baseline, complement.baseline)",
        "package": "package for rows without one, e.g. tests/csapi (default: the configured package "
        "when there is exactly one; otherwise they stay without one and are matched by test name)",
    }
)
def import_baseline(c: Context, source: str, output: str | None = None, package: str | None = None) -> None:
    """Convert a Complement baseline (also the older {Action,Test} format) into ours, atomically."""
    conf = c.config.bakehouse.complement
    module = str(conf.module)
    if package is not None and not package.strip():
        raise bad_input("--package: expected a package such as tests/csapi")
    assigned = import_path(package, module) if package else default_package(tuple(conf.packages), module)
    source_path = Path(source)
    try:
        text = source_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise bad_input(f"{source}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise bad_input(f"{source}: cannot read it ({reason})") from None
    loaded = parse_results(text.splitlines(), package=assigned)
    if not loaded.results:
        raise bad_input(
            f"{source}: no valid result rows ({loaded.rows} read, {loaded.malformed} malformed); "
            "nothing written"
        )
    target = Path(output) if output else REPO_ROOT / str(conf.baseline)
    try:
        # Read fully above, written atomically here: importing a file onto itself is safe too.
        write_atomically(target, render_results(loaded.results))
    except OSError as exc:
        raise BakehouseError(f"{target}: cannot write it ({exc.strerror or exc})") from None
    print(f"imported {source} into {output or conf.baseline}: {import_summary(loaded, assigned)}")
