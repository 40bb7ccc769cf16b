"""`inv complement` tasks: thin wrappers over tasks.complement.session and the baseline import
(imported when a task runs: see tasks/cli/__init__.py)."""

from __future__ import annotations

from pathlib import Path

from invoke import Context

from ..cli.context import settings, task
from ..shared.errors import bad_input


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
        "all": "every test of the packages instead of the curated list (not with --run)",
        "shard": "K/N: run shard K of N of the selected top-level tests (gate them all: complement.merge)",
        "update_baseline": "write fixes, new and removed tests into the baseline (complete runs only)",
        "accept_regressions": "with --update-baseline: record regressions in the baseline too",
        "report_only": "report regressions but exit 0 for them",
        "matrix": "narrow the matrix: NAME=VALUE, like inv build (repeatable)",
        "cell": "exactly this matrix cell: an id from `inv ci.matrix`, like inv build",
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
    all: bool = False,  # noqa: A002 - the option is --all
    shard: str | None = None,
    update_baseline: bool = False,
    accept_regressions: bool = False,
    report_only: bool = False,
    matrix: list[str] | None = None,
    builder: str | None = None,
    no_wait: bool = False,
    run_id: str | None = None,
    testee_env: list[str] | None = None,
    progress: str | None = None,
    cell: str | None = None,
) -> None:
    """Run the Complement suite against the homeserver image and gate it against the baseline."""
    from ..bake.cells import with_cell
    from .options import RunOptions
    from .session import run_complement

    matrix_options = tuple(with_cell(settings(c), cell, matrix or []))
    options = RunOptions(
        run=run, skip=skip, packages=packages, timeout=timeout, parallel=parallel, count=count,
        shuffle=shuffle, dirty=dirty, all_tests=all, shard=shard, update_baseline=update_baseline,
        accept_regressions=accept_regressions, report_only=report_only, matrix=matrix_options,
        builder=builder, no_wait=no_wait, run_id=run_id, testee_env=tuple(testee_env or ()),
        progress=progress,
    )  # fmt: skip
    run_complement(settings(c), options)


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
    from .legacy_baseline import default_package, import_baseline_file, import_path, import_summary

    config = settings(c)
    conf = config.complement
    if package is not None and not package.strip():
        raise bad_input("--package: expected a package such as tests/csapi")
    assigned = import_path(package, conf.module) if package else default_package(conf.packages, conf.module)
    target = Path(output) if output else config.path(conf.baseline)
    loaded = import_baseline_file(source, target, assigned)
    print(f"imported {source} into {output or conf.baseline}: {import_summary(loaded, assigned)}")


@task(
    help={
        "dirs": "results directories holding shards (a runner's build/complement, a cell's directory, "
        "CI artifacts…), several separated by commas; searched recursively",
        "output": "where the merged results go, one directory per cell (default: complement.results_dir)",
        "update_baseline": "write fixes, new and removed tests into the baseline (complete merges only)",
        "accept_regressions": "with --update-baseline: record regressions in the baseline too",
        "report_only": "report regressions but exit 0 for them",
    }
)
def merge(
    c: Context,
    dirs: str,
    output: str | None = None,
    update_baseline: bool = False,
    accept_regressions: bool = False,
    report_only: bool = False,
) -> None:
    """Merge the shards of `inv complement --shard K/N` runs and gate their union like one run."""
    from .merge import MergeOptions, merge_complement, split_directories

    options = MergeOptions(
        split_directories(dirs), output=output, update_baseline=update_baseline,
        accept_regressions=accept_regressions, report_only=report_only,
    )  # fmt: skip
    merge_complement(settings(c), options)
