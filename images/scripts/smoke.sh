#!/bin/sh
# Smoke test of the homeserver image, run in a build step (tests-smoke): generate a config
# (SQLite), start Synapse, wait for the client API, register a user with the shared-secret
# admin API, log in with it, and stop the server with SIGTERM. Any failure exits non-zero
# with a line starting "smoke: FAIL:".
#
# Needs only the image's venv python (on PATH) and a writable temporary directory.
# Env: SMOKE_START_TIMEOUT (s, default 120), SMOKE_STOP_TIMEOUT (s, default 30),
#      SMOKE_IMPORTS (space-separated Python modules that must import, e.g. a feature set's extras),
#      SMOKE_SLOWDOWN (integer factor applied to every timeout, default 1: e.g. 10 under QEMU).
set -eu

slowdown=${SMOKE_SLOWDOWN:-1}
start_timeout=$(( ${SMOKE_START_TIMEOUT:-120} * slowdown ))
stop_timeout=$(( ${SMOKE_STOP_TIMEOUT:-30} * slowdown ))
request_timeout=$(( 10 * slowdown ))
server_name=smoke.test
work=$(mktemp -d)
server_pid=""

say() { printf 'smoke: %s\n' "$*"; }

show_logs() {
    for log in "$work/server.out" "$work/homeserver.log"; do
        if [ -s "$log" ]; then
            printf -- '--- last lines of %s ---\n' "$log"
            tail -n 40 "$log"
        fi
    done
}

fail() {
    printf 'smoke: FAIL: %s\n' "$*" >&2
    show_logs >&2
    exit 1
}

# Whatever happens, the server must not outlive the step.
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'fail "interrupted"' INT TERM

# The generated log config writes homeserver.log into the current directory.
cd "$work"

say "$(python --version), synapse $(python -c 'import synapse; print(synapse.__version__)')"
[ "$slowdown" = 1 ] || say "timeouts stretched ${slowdown}x (start ${start_timeout} s, stop ${stop_timeout} s)"
for module in ${SMOKE_IMPORTS:-}; do
    python -c "import $module" 2>"$work/import.out" || { cat "$work/import.out" >&2; fail "cannot import $module"; }
    say "import $module: ok"
done
python -m synapse.app.homeserver --server-name "$server_name" --config-path "$work/homeserver.yaml" \
    --generate-config --report-stats=no --data-directory "$work" >"$work/generate.out" 2>&1 \
    || { cat "$work/generate.out" >&2; fail "config generation failed"; }

# A free loopback port: the build step may share the host's network.
port=$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
secret=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')

# Later config files win per top-level key: plain loopback listener, fast hashing, no outside world.
cat >"$work/smoke.yaml" <<EOF
listeners:
  - port: $port
    bind_addresses: ["127.0.0.1"]
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
registration_shared_secret: "$secret"
bcrypt_rounds: 4
report_stats: false
enable_metrics: false
trusted_key_servers: []
suppress_key_server_warning: true
EOF

python -m synapse.app.homeserver --config-path "$work/homeserver.yaml" --config-path "$work/smoke.yaml" \
    >"$work/server.out" 2>&1 &
server_pid=$!
say "server started (pid $server_pid, port $port)"

# The client side: readiness, registration, login. Exits non-zero with the reason on stderr.
python - "http://127.0.0.1:$port" "$secret" "$server_name" "$server_pid" "$start_timeout" "$request_timeout" <<'EOF' \
    || fail "client checks failed (see above)"
import hashlib
import hmac
import json
import sys
import time
import urllib.error
import urllib.request

base, secret, server_name, server_pid, start_timeout, request_timeout = sys.argv[1:7]


def fail(message):
    print(f"smoke: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def server_alive():
    # An exited child stays a zombie until the shell reaps it; read its state instead of kill -0.
    try:
        with open(f"/proc/{server_pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def call(method, path, body=None, token=None):
    request = urllib.request.Request(base + path, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    data = json.dumps(body).encode() if body is not None else None
    try:
        with urllib.request.urlopen(request, data, timeout=float(request_timeout)) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


started = time.monotonic()
while True:
    try:
        status, versions = call("GET", "/_matrix/client/versions")
        if status == 200:
            break
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        pass
    if not server_alive():
        fail("the server exited before answering /_matrix/client/versions")
    if time.monotonic() - started > float(start_timeout):
        fail(f"no 200 from /_matrix/client/versions within {start_timeout} s")
    time.sleep(0.1)
print(f"smoke: GET /_matrix/client/versions -> 200 after {time.monotonic() - started:.1f} s")
print(json.dumps(versions))

username, password = "smoke", "smoke-password"
status, body = call("GET", "/_synapse/admin/v1/register")
if status != 200:
    fail(f"GET /_synapse/admin/v1/register -> {status}: {body}")
nonce = body["nonce"]
mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
mac.update(b"\x00".join(part.encode() for part in (nonce, username, password, "notadmin")))
status, body = call(
    "POST",
    "/_synapse/admin/v1/register",
    {"nonce": nonce, "username": username, "password": password, "admin": False, "mac": mac.hexdigest()},
)
user_id = f"@{username}:{server_name}"
if status != 200 or body.get("user_id") != user_id:
    fail(f"shared-secret registration -> {status}: {body}")
print(f"smoke: registered {user_id}")

status, body = call(
    "POST",
    "/_matrix/client/v3/login",
    {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": username}, "password": password},
)
if status != 200 or body.get("user_id") != user_id or not body.get("access_token"):
    fail(f"password login -> {status}: {body}")
status, body = call("GET", "/_matrix/client/v3/account/whoami", token=body["access_token"])
if status != 200 or body.get("user_id") != user_id:
    fail(f"whoami with the login's token -> {status}: {body}")
print(f"smoke: logged in as {user_id} (whoami agrees)")
EOF

# Clean stop: SIGTERM, then poll (an exited child stays a zombie until `wait` reaps it).
server_stopped() {
    [ ! -e "/proc/$server_pid" ] || [ "$(sed 's/.*) //' "/proc/$server_pid/stat" | cut -d' ' -f1)" = Z ]
}
kill -TERM "$server_pid"
ticks=0
until server_stopped; do
    if [ "$ticks" -ge $((stop_timeout * 10)) ]; then
        kill -KILL "$server_pid"
        fail "the server did not stop within ${stop_timeout} s of SIGTERM"
    fi
    sleep 0.1
    ticks=$((ticks + 1))
done
status=0
wait "$server_pid" || status=$?
server_pid=""
[ "$status" -eq 0 ] || fail "the server exited with status $status after SIGTERM"
say "server stopped cleanly"
say "PASS"
