#!/usr/bin/env bash
# Development certificates for docker-compose's TLS: a throwaway certificate authority and one
# server certificate each for the broker (`kafka`) and PostgreSQL (`postgres`), both also valid
# for localhost and 127.0.0.1 (the host ports). Written to deploy/compose/certs/ (ignored by git),
# or to the folder given as the argument (the local launcher's .mend/tls), once: delete the
# folder to make new ones. Run it before the first `docker compose up`.
# Development only: the private keys are readable by the containers' users (the broker runs as
# uid 1000, PostgreSQL copies its key into place at start, see docker-compose.yml).
set -euo pipefail
dir="${1:-$(cd "$(dirname "$0")" && pwd)/certs}"
if [ -f "$dir/ca.crt" ]; then
  echo "certificates already in $dir"
  exit 0
fi
mkdir -p "$dir"
cd "$dir"
curve=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
openssl req -x509 "${curve[@]}" -keyout ca.key -out ca.crt -days 825 \
  -subj "/CN=Mend development CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
for host in kafka postgres; do
  openssl req "${curve[@]}" -keyout "$host.key" -out "$host.csr" -subj "/CN=$host" 2>/dev/null
  printf '%s\n' "subjectAltName=DNS:$host,DNS:localhost,IP:127.0.0.1" \
    "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" > "$host.ext"
  openssl x509 -req -in "$host.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out "$host.crt" -days 825 -extfile "$host.ext" 2>/dev/null
  rm -f "$host.csr" "$host.ext"
done
# The broker's PEM keystore: its (PKCS#8, unencrypted) key, then its certificate.
cat kafka.key kafka.crt > kafka.pem
chmod 0644 ./*.crt kafka.pem postgres.key
chmod 0600 ca.key kafka.key
echo "certificates written to $dir (CA: ca.crt)"
