#!/usr/bin/env bash
# Installs what a fresh machine lacks for the local platform: PostgreSQL server, Java 17, Maven,
# Node and npm (the local OpenID Connect provider), Chromium (the web app's browser tests),
# promtool (metrics lint and alert rule tests), openssl (the local certificate authority).
# Needs root and apt; elsewhere it says what to install instead of failing obscurely.
set -euo pipefail

need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || need+=(postgresql)
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need+=(maven)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
command -v chromium >/dev/null || need+=(chromium)
# promtool (Debian's prometheus package) lints the metrics and tests the alert rules.
command -v promtool >/dev/null || need+=(prometheus)
command -v openssl >/dev/null || need+=(openssl)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "mend: missing ${need[*]}: install them (e.g. apt-get install ${need[*]}) and run again" >&2
  exit 1
fi
echo "installing ${need[*]} ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian's prometheus package may start its server: Mend needs only its promtool.
pkill -x prometheus 2>/dev/null || true
# Debian's package starts a cluster of its own on 5432; Mend runs its own on 127.0.0.1:25432.
if command -v pg_lsclusters >/dev/null; then
  pg_lsclusters -h 2>/dev/null | awk '{print $1, $2}' | while read -r v c; do
    pg_ctlcluster "$v" "$c" stop 2>/dev/null || true
  done
fi
