#!/bin/sh
# Installs the system programs the test suite runs as real peers: tinyproxy
# (an HTTP proxy with CONNECT and Basic auth) and openssl (which made the TLS
# fixtures). Idempotent and quick when they are already there. Never fails
# the build: a test whose program is missing reports itself as skipped, loudly.
missing=""
command -v tinyproxy >/dev/null 2>&1 || missing="$missing tinyproxy"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
[ -z "$missing" ] && exit 0
echo "tools/services.sh: installing$missing"
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "!!! tools/services.sh: cannot install$missing (needs root and apt-get); the tests that need them will be SKIPPED" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq $missing; } >/tmp/fetchkit-services.log 2>&1; then
  tail -20 /tmp/fetchkit-services.log >&2
  echo "!!! tools/services.sh: installing$missing failed; the tests that need them will be SKIPPED" >&2
fi
exit 0
