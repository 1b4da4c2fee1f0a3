#!/usr/bin/env bash
# Installs nginx for `npm run bench` when it is missing (Debian, as root).
# Idempotent and quick when nginx is already there; never fatal: without
# nginx the bench falls back to a node:http server and says so.
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then exit 0; fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "bench-setup: nginx missing and cannot be installed here" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1
apt-get install -y -qq nginx >/dev/null 2>&1 ||
  echo "bench-setup: apt-get install nginx failed" >&2
# The package may start a system nginx on port 80; the bench runs its own.
exit 0
