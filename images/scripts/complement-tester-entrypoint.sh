#!/bin/sh
# Entrypoint of the complement-tester image: runs each selected Complement test package binary under
# test2json and streams `go test -json` events (one JSON object per line) to stdout.
#
# Selection and go test flags come from the environment (empty = the binary's default):
#   TESTER_PACKAGES  space-separated packages: short names (tests, csapi) or import paths; default all
#   TESTER_RUN       -test.run regex          TESTER_SKIP     -test.skip regex
#   TESTER_TIMEOUT   -test.timeout (e.g. 30m) TESTER_PARALLEL -test.parallel N
#   TESTER_COUNT     -test.count N            TESTER_SHUFFLE  -test.shuffle off|on|SEED
# Arguments given to the container are passed to every test binary after these flags.
# Every package runs even if an earlier one fails. Exit status: 0 all passed, 1 a package failed,
# 2 bad input. Messages of this script go to stderr, so stdout holds only test2json output.
set -eu

home=/usr/local/lib/complement-tester
bin_dir="${home}/bin"

fail_input() {
    echo "complement-tester: $*" >&2
    exit 2
}

if [ -z "${COMPLEMENT_BASE_IMAGE:-}" ]; then
    fail_input "COMPLEMENT_BASE_IMAGE is not set (the homeserver image to test)"
fi

# Import paths of the compiled packages, one per line.
all_packages=$(cat "${home}/packages")

# Resolve a short name or an import path to the package's import path.
resolve_package() {
    for candidate in ${all_packages}; do
        if [ "${candidate}" = "$1" ] || [ "${candidate##*/}" = "$1" ]; then
            echo "${candidate}"
            return 0
        fi
    done
    return 1
}

selected=""
for name in ${TESTER_PACKAGES:-${all_packages}}; do
    package=$(resolve_package "${name}") \
        || fail_input "unknown package '${name}'; compiled: $(tr '\n' ' ' < "${home}/packages")"
    selected="${selected} ${package}"
done

require_number() {
    case "$2" in
        *[!0-9]*) fail_input "$1 must be a number, got '$2'" ;;
    esac
}
require_number TESTER_PARALLEL "${TESTER_PARALLEL:-}"
require_number TESTER_COUNT "${TESTER_COUNT:-}"

# One package: its binary under test2json, each flag only when set, the container's arguments last.
run_package() {
    package=$1
    shift
    binary="${bin_dir}/${package##*/}.test"
    [ -x "${binary}" ] || fail_input "no test binary ${binary} for ${package}"
    echo "complement-tester: running ${package}" >&2
    test2json -t -p "${package}" "${binary}" -test.v=test2json \
        ${TESTER_RUN:+"-test.run=${TESTER_RUN}"} \
        ${TESTER_SKIP:+"-test.skip=${TESTER_SKIP}"} \
        ${TESTER_TIMEOUT:+"-test.timeout=${TESTER_TIMEOUT}"} \
        ${TESTER_PARALLEL:+"-test.parallel=${TESTER_PARALLEL}"} \
        ${TESTER_COUNT:+"-test.count=${TESTER_COUNT}"} \
        ${TESTER_SHUFFLE:+"-test.shuffle=${TESTER_SHUFFLE}"} \
        "$@"
}

status=0
for package in ${selected}; do
    run_package "${package}" "$@" || status=1
done
exit "${status}"
