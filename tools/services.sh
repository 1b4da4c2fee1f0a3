#!/bin/sh
# Installs the system programs the test suite runs as real peers: tinyproxy
# (an HTTP proxy with CONNECT and Basic auth), openssl (which made the TLS
# fixtures), redis-server (the shared cookie store's peer; each test starts
# its own on a free loopback port), curl (cookies.txt interop) and
# python3-httpbin with gunicorn (digest auth interop). Idempotent and quick
# when they are already there. Never fails the build: a test whose program is
# missing reports itself as skipped, loudly (httpbin's fails instead).
missing=""
command -v tinyproxy >/dev/null 2>&1 || missing="$missing tinyproxy"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
command -v curl >/dev/null 2>&1 || missing="$missing curl"
# Debian's httpbin, served by gunicorn: digest auth checked against a server
# we did not write (tests/httpbin.test.ts).
/usr/bin/python3 -c "import httpbin, gunicorn" >/dev/null 2>&1 ||
  missing="$missing python3-httpbin gunicorn"
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
