"""`inv complement`'s options, and the suite settings they make over the config, checked before
anything is built."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..shared.errors import bad_input
from ..shared.inputs import check_packages, go_regexp_problem
from ..shared.settings import Settings
from ..shared.units import check_go_duration
from .run_cells import SuiteSettings
from .select import Selection, anchored_names, join_alternatives, validate_pattern


@dataclass(frozen=True)
class RunOptions:
    """The options of one `inv complement` run as given; None (or False, or empty): the config's."""

    # What the suite runs (go test and Complement).
    run: str | None = None
    skip: str | None = None
    packages: str | None = None
    timeout: str | None = None
    parallel: str | None = None
    count: str | None = None
    shuffle: str | None = None
    dirty: bool = False
    # Every test of the packages instead of the curated list; and which part of the selection to run.
    all_tests: bool = False
    shard: str | None = None
    # What the gate does with the results.
    update_baseline: bool = False
    accept_regressions: bool = False
    report_only: bool = False
    # How the images are built and the cells are run.
    matrix: tuple[str, ...] = ()
    builder: str | None = None
    no_wait: bool = False
    run_id: str | None = None
    testee_env: tuple[str, ...] = ()
    progress: str | None = None


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def positive_int(value: object, option: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise bad_input(f"--{option} {value!r}: expected a positive whole number") from None
    if number < 1:
        raise bad_input(f"--{option} {value!r}: expected a positive whole number")
    return number


def suite_settings(config: Settings, options: RunOptions) -> tuple[SuiteSettings, Selection]:
    """Options over config, validated before anything is built."""
    conf = config.complement
    if options.all_tests and options.run is not None:
        raise bad_input("--all selects every test of the packages: leave out --run (--skip still applies)")
    run = options.run if options.run is not None else "" if options.all_tests else anchored_names(conf.run)
    skip = options.skip if options.skip is not None else join_alternatives(conf.skip)
    for option, pattern in (("run", run), ("skip", skip)):
        error = (validate_pattern(pattern) or go_regexp_problem(pattern)) if pattern else None
        if error:
            raise bad_input(f"--{option} {pattern!r}: invalid regular expression ({error})")
    packages = (
        tuple(p for p in re.split(r"[\s,]+", options.packages or " ".join(conf.packages)) if p)
        or conf.packages
    )
    # The tester runs only what it compiled (bake variable complement_packages; the environment wins).
    variable = "complement_packages"  # a bake variable: lower-case, like the matrix ones
    compiled = os.environ.get(variable) or config.bake.variables.get(variable, "")
    label = "--packages" if options.packages else "complement.packages"
    packages = check_packages(packages, compiled.split(), label)
    timeout = check_go_duration(options.timeout or conf.timeout, "--timeout")
    shuffle = options.shuffle or conf.shuffle
    if shuffle not in ("off", "on") and not shuffle.isdigit():
        raise bad_input(f"--shuffle {shuffle!r}: expected off, on or a seed number")
    settings = SuiteSettings(
        base_image="",  # the per-run copy of the testee, set per cell
        packages=packages,
        run=run,
        skip=skip,
        timeout=timeout,
        parallel=positive_int(options.parallel or conf.parallel, "parallel"),
        count=positive_int(options.count or conf.count, "count"),
        shuffle=shuffle,
        spawn_timeout=positive_int(conf.spawn_timeout, "spawn-timeout"),
        dirty=options.dirty or conf.dirty,
        share_env_prefix=conf.share_env_prefix,
        always_print_server_logs=conf.always_print_server_logs,
    )
    return settings, Selection(packages, run=run, skip=skip)


def parse_testee_env(pairs: Sequence[str]) -> dict[str, str]:
    """--testee-env NAME=VALUE pairs as an environment (split at the first '=')."""
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not _ENV_NAME.match(key):
            raise bad_input(f"--testee-env {pair!r}: expected NAME=VALUE")
        env[key] = value
    return env
