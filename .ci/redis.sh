#!/usr/bin/env bash
# Installs Debian's redis-server when it is missing, so that the turnout/redis tests run. Nothing is started here:
# the tests start their own server on a free 127.0.0.1 port (no config file, a temporary directory) and stop it.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  echo "redis-server present: $(redis-server --version)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null
echo "redis-server installed: $(redis-server --version)"
