"""Which platforms a builder lacks, and what each takes: QEMU, a fresh look, or nothing possible."""

from __future__ import annotations

import pytest

from tasks.bake.platforms import Platform, parse_platform
from tasks.builder.emulation import (
    AMD64_LEVELS,
    HostFacts,
    Verdict,
    classify,
    describe_platforms,
    foreign,
    register_line,
)
from tasks.shared.buildx import BuilderRecord, NodeRecord
from tasks.shared.errors import BakehouseError

AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64")
# What buildx lists for a fresh builder on this machine's CPU (x86-64-v4).
FRESH = [parse_platform(p, "t") for p in ("linux/amd64", "linux/amd64/v2", "linux/amd64/v3", "linux/386")]
V3_CPU = frozenset(flag for level in ("v2", "v3") for flag in AMD64_LEVELS[level])
DEBIAN_ROOT = HostFacts("x86_64", V3_CPU, can_provision=True)


def test_what_the_builder_has_needs_nothing():
    assert classify([AMD64, Platform("linux", "amd64", "v3")], FRESH, DEBIAN_ROOT) == Verdict()


def test_arm64_is_emulated_where_bakehouse_may_provision():
    verdict = classify([AMD64, ARM64, Platform("linux", "arm64", "v8")], FRESH, DEBIAN_ROOT)
    assert verdict == Verdict(emulate=("aarch64",), lacking=(ARM64,))


def test_an_emulated_platform_listed_from_before_its_interpreter_went_away_is_provided_again():
    listed = [*FRESH, ARM64]
    assert classify([ARM64], listed, DEBIAN_ROOT) == Verdict(emulate=("aarch64",), lacking=(ARM64,))
    # A remote daemon's list is its own host's: taken as it is.
    assert classify([ARM64], listed, DEBIAN_ROOT, on_this_host=False) == Verdict()


def test_a_registered_emulator_the_builder_does_not_list_yet_needs_a_fresh_look():
    host = HostFacts("x86_64", V3_CPU, registered=frozenset({"aarch64"}))
    assert classify([ARM64], FRESH, host) == Verdict(refresh=(ARM64,))


def test_without_root_on_debian_the_refusal_says_what_to_run_elsewhere():
    verdict = classify([Platform("linux", "s390x")], FRESH, HostFacts("x86_64", V3_CPU))
    assert list(verdict.impossible.values()) == [
        "linux/s390x: no s390x interpreter is registered and bakehouse registers one only as root on "
        "Debian; as root, register static QEMU interpreters with the F flag (`docker run --privileged --rm "
        "tonistiigi/binfmt --install s390x`, or your distribution's qemu-user-static), then "
        "`inv builder.create`"
    ]


def test_an_amd64_level_the_cpu_lacks_is_never_emulated():
    verdict = classify([Platform("linux", "amd64", "v4")], FRESH, DEBIAN_ROOT)
    assert verdict.impossible == {
        Platform("linux", "amd64", "v4"): "linux/amd64/v4: this CPU lacks avx512f avx512bw avx512cd "
        "avx512dq avx512vl and amd64 levels are never emulated; build it on a CPU that has them, or use "
        "a lower level"
    }
    # A level the CPU has but the builder doesn't list: it looks again.
    assert classify([Platform("linux", "amd64", "v3")], [AMD64], DEBIAN_ROOT) == Verdict(
        refresh=(Platform("linux", "amd64", "v3"),)
    )


@pytest.mark.parametrize(
    ("wanted", "reason"),
    [
        (Platform("linux", "sparc"), "linux/sparc: QEMU has no emulator for architecture 'sparc'"),
        (Platform("windows", "amd64"), "windows/amd64: a Linux builder runs linux/* platforms only"),
    ],
)
def test_platforms_nobody_can_provide(wanted, reason):
    assert classify([wanted], FRESH, DEBIAN_ROOT).impossible == {wanted: reason}


def test_the_entry_registered_is_debians_with_the_f_flag():
    debian = ":qemu-aarch64:M::\\x7f\\x45:\\xff\\xff:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:OPF\n"
    assert register_line("# comment\n" + debian) == debian.strip()
    assert register_line(debian.replace(":OPF", ":P")).endswith(":PF")
    with pytest.raises(BakehouseError, match="is not :name:type"):
        register_line(":qemu-x:M::magic\n")


def test_status_says_native_or_emulated():
    node = NodeRecord(name="b0", platforms=("linux/amd64", "linux/arm64", "linux/386"))
    rows = describe_platforms(BuilderRecord("b", "docker-container", (node,)), DEBIAN_ROOT)
    assert rows[0] == ("linux/amd64", "native")
    assert rows[2] == ("linux/386", "native")
    assert rows[1][0] == "linux/arm64" and rows[1][1].startswith("emulated (")


def test_only_platforms_the_cpu_does_not_run_as_it_is_need_a_look_at_the_builder():
    v3, v4, v5 = (Platform("linux", "amd64", v) for v in ("v3", "v4", "v5"))
    assert foreign([AMD64, v3, Platform("linux", "386")], DEBIAN_ROOT) == []
    assert foreign([AMD64, ARM64, v4, v5, Platform("windows", "amd64")], DEBIAN_ROOT) == [
        ARM64, v4, v5, Platform("windows", "amd64"),
    ]  # fmt: skip
