#!/usr/bin/env bash
# One-time (and idempotent) setup: Chromium (WebGPU in the browser test, and SwiftShader's Vulkan
# driver for Node on machines without a GPU) and the Vulkan loader, the npm dependencies, and the
# converted weights (squeezenet1_1, googlenet, tinyvgg from the shared folder, ../shared or
# CNNVIS_SHARED).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
{ /sbin/ldconfig -p 2>/dev/null || ldconfig -p; } | grep -q 'libvulkan\.so\.1' || missing+=(libvulkan1)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=''
  [ "$(id -u)" -eq 0 ] || sudo='sudo'
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

# npm ci wipes node_modules: only when the installed tree does not match package-lock.json.
if ! npm ls --depth=0 >/dev/null 2>&1; then
  echo 'setup: npm ci' >&2
  npm ci --no-audit --no-fund
fi

shared="${CNNVIS_SHARED:-../shared}"
if [ ! -d "$shared/models" ]; then
  echo "setup: the shared data folder $shared/models is missing (set CNNVIS_SHARED)" >&2
  exit 1
fi
npm run --silent weights -- --shared "$shared" >&2
