#!/bin/sh
# Complement's homeserver contract for Synapse. Runs on every container start: Complement stops
# blueprint containers, commits them and starts new containers from the result, so each step
# here is safe to repeat; state (database, signing key, media) stays in /data inside the
# container. Ends by exec'ing the server, so SIGTERM reaches it directly.
#
# Environment: SERVER_NAME (set by Complement: hs1, hs2, ...); SYNAPSE_CONFIG_EXTRA (optional
# YAML appended to the configuration; later keys win, e.g. "enable_registration: false").
# Files Complement copies in before start: /complement/ca/ca.{crt,key},
# /complement/appservice/*.yaml.
set -eu

say() {
    echo "complement-testee: $*" >&2
}

server_name=${SERVER_NAME:-}
case $server_name in
    '' | *[!A-Za-z0-9.:-]*)
        say "SERVER_NAME must be a host name (optionally :port), got '$server_name'"
        exit 64
        ;;
esac
host=${server_name%%:*}

share=/usr/local/share/complement-testee
data=/data
tls=$data/tls
ca_dir=/complement/ca
config=$data/homeserver.yaml

mkdir -p "$tls" "$data/media_store"

# TLS for the federation port: a fresh key and certificate on every start, because each
# Complement run brings its own CA (a committed blueprint may outlive the run that made it).
cat >"$tls/server.ext" <<EOF
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:$host
EOF
openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$host" \
    -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
serial=0x$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
if [ -r "$ca_dir/ca.crt" ] && [ -r "$ca_dir/ca.key" ]; then
    openssl x509 -req -in "$tls/server.csr" -CA "$ca_dir/ca.crt" -CAkey "$ca_dir/ca.key" \
        -set_serial "$serial" -days 7 -sha256 -extfile "$tls/server.ext" \
        -out "$tls/server.crt" 2>/dev/null
    trust_ca=yes
else
    say "no CA in $ca_dir (not started by Complement?): self-signed certificate, no federation CA"
    openssl x509 -req -in "$tls/server.csr" -signkey "$tls/server.key" \
        -set_serial "$serial" -days 7 -sha256 -extfile "$tls/server.ext" \
        -out "$tls/server.crt" 2>/dev/null
    trust_ca=no
fi
rm -f "$tls/server.csr"

# The server's signing key identifies it to other servers: made once, kept across restarts.
if [ ! -s "$data/signing.key" ]; then
    python - "$data/signing.key" <<'EOF'
import secrets
import sys

from signedjson.key import generate_signing_key, write_signing_keys

with open(sys.argv[1], "w", encoding="ascii") as handle:
    write_signing_keys(handle, [generate_signing_key("a_" + secrets.token_hex(2))])
EOF
fi

# The configuration is rendered anew on every start (the server name and the CA may change).
{
    sed "s/@SERVER_NAME@/$server_name/g" "$share/homeserver.yaml"
    if [ "$trust_ca" = yes ]; then
        printf 'federation_custom_ca_list: ["%s"]\n' "$ca_dir/ca.crt"
    fi
    echo "app_service_config_files:"
    found=no
    for registration in /complement/appservice/*.yaml; do
        [ -f "$registration" ] || continue
        printf '  - "%s"\n' "$registration"
        found=yes
    done
    if [ "$found" = no ]; then
        echo "  []"
    fi
    if [ -n "${SYNAPSE_CONFIG_EXTRA:-}" ]; then
        echo "# SYNAPSE_CONFIG_EXTRA"
        printf '%s\n' "$SYNAPSE_CONFIG_EXTRA"
    fi
} >"$config.tmp"
mv "$config.tmp" "$config"

exec python -m synapse.app.homeserver --config-path "$config" "$@"
