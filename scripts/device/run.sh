#!/usr/bin/env bash
# Runs bundled checks on the lent GPU machine (no npm there): unpacks the Vulkan loader, Node and
# Dawn carried in .gl/ and .devicebin/, then runs each bundle named on the command line.
# Prepared here by scripts/device/prepare.sh.
set -u
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
mkdir -p /tmp/nodebin .devicebin/node_modules/webgpu/dist/linux-x64
[ -x /tmp/nodebin/node ] || { xz -dc .devicebin/node.xz > /tmp/nodebin/node && chmod +x /tmp/nodebin/node; }
[ -f .devicebin/node_modules/webgpu/dist/linux-x64/dawn.node ] || xz -dc .devicebin/dawn.node.xz > .devicebin/node_modules/webgpu/dist/linux-x64/dawn.node
export PATH=/tmp/nodebin:$PATH
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
for b in "$@"; do
  echo "=== $b"
  node ".devicebin/dist/$b.mjs" || echo "!!! $b exited $?"
done
