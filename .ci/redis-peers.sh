#!/usr/bin/env bash
# Packs turnout and installs the tarball into scratch apps next to each supported Redis client major (node-redis 5
# and 6, ioredis 5 and 6), the way a user would: plain `npm install`, no --force, no --legacy-peer-deps. Each app
# then loads turnout/redis and hands it a client, so a peer range that refuses a supported major fails here.
# Needs dist/ (npm run build) and the npm registry.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
tarball=$(npm pack --silent --pack-destination "$scratch" | tail -1)
check() {
  local client=$1 app="$scratch/app-${1/@/-}" make
  mkdir -p "$app"
  (cd "$app" && npm init -y >/dev/null)
  if ! (cd "$app" && npm install --no-audit --no-fund --loglevel=error "$client" "$scratch/$tarball" >install.log 2>&1); then
    echo "FAILED: npm install $client turnout"; cat "$app/install.log"; return 1
  fi
  if [ "${client%@*}" = "redis" ]; then
    make='const { createClient } = await import("redis"); const client = createClient();'
  else
    make='const { Redis } = await import("ioredis"); const client = new Redis({ lazyConnect: true });'
  fi
  if (cd "$app" && node --input-type=module -e "${make} const { createRedisStore } = await import('turnout/redis'); createRedisStore(client, { namespace: 'peers' });" 2>&1); then
    echo "ok: npm install $client turnout ($(cd "$app" && node -p "require('${client%@*}/package.json').version"))"
  else
    echo "FAILED: turnout/redis does not accept a ${client} client"; return 1
  fi
}
# The four installs run side by side (they share npm's cache).
pids=()
for client in redis@5 redis@6 ioredis@5 ioredis@6; do check "$client" & pids+=($!); done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
exit $failed
