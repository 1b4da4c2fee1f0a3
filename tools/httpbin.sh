#!/bin/sh
# Installs Debian's httpbin and gunicorn for tests/httpbin.test.ts (digest
# auth checked against a server we did not write). Idempotent; returns at
# once when they are already there.
set -e
if /usr/bin/python3 -c "import httpbin, gunicorn" 2>/dev/null; then exit 0; fi
if [ "$(id -u)" != "0" ]; then
  echo "tools/httpbin.sh: run as root, or: apt-get install python3-httpbin gunicorn" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq python3-httpbin gunicorn >/dev/null
/usr/bin/python3 -c "import httpbin, gunicorn"
