#!/usr/bin/env bash
# A local certificate authority and a server certificate for localhost, 127.0.0.1 and ::1, for
# tests and demos of `tessera serve --tls-cert ... --tls-key ...`. Not for production: the CA
# key lies unencrypted beside its certificate.
#
#   bash certs/make-dev-certs.sh [DIR] [NAME...]
#
# DIR (default: certs/dev beside this script; git ignores it) receives
#   ca.pem, ca.key          the CA (P-256, 10 years), made on the first run and reused after;
#   server.pem, server.key  a new server key and certificate (P-256, 825 days) on every run,
#                           each file replaced by a rename, so a running server that polls
#                           them never reads half a file.
# Each NAME is added to the server certificate: an IP address as such, anything else as a DNS
# name. Clients trust DIR/ca.pem, e.g. `AWS_CA_BUNDLE=DIR/ca.pem aws ...`.
# Needs the openssl command-line tool (1.1.1 or later).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
dir="${1:-$here/dev}"
[ "$#" -gt 0 ] && shift
command -v openssl >/dev/null 2>&1 || {
    echo "make-dev-certs.sh: the openssl command is needed (Debian/Ubuntu: apt-get install openssl)" >&2
    exit 1
}

umask 077
mkdir -p "$dir"
tmp="$(mktemp -d "$dir/.make-dev-certs.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

if [ ! -s "$dir/ca.pem" ] || [ ! -s "$dir/ca.key" ]; then
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$tmp/ca.key" -out "$tmp/ca.pem" -days 3650 -sha256 \
        -subj "/O=tessera development/CN=tessera development CA" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" 2>/dev/null
    mv "$tmp/ca.key" "$dir/ca.key"
    mv "$tmp/ca.pem" "$dir/ca.pem"
    echo "made a CA: $dir/ca.pem"
fi

san="DNS:localhost,IP:127.0.0.1,IP:::1"
for name in "$@"; do
    if [[ "$name" =~ ^[0-9.]+$ || "$name" == *:* ]]; then
        san="$san,IP:$name"
    else
        san="$san,DNS:$name"
    fi
done
cat >"$tmp/server.ext" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EXT
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$tmp/server.key" -out "$tmp/server.csr" \
    -subj "/O=tessera development/CN=localhost" 2>/dev/null
openssl x509 -req -in "$tmp/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 825 -sha256 \
    -extfile "$tmp/server.ext" -out "$tmp/server.pem" 2>/dev/null
chmod 600 "$tmp/server.key"
chmod 644 "$tmp/server.pem" "$dir/ca.pem"
mv "$tmp/server.key" "$dir/server.key"
mv "$tmp/server.pem" "$dir/server.pem"
names="${san//DNS:/}"
echo "made a server certificate for ${names//IP:/}: $dir/server.pem (key $dir/server.key)"
