#!/usr/bin/env bash
# Prepares what the lent GPU machine needs (it has no npm and no network): the Vulkan loader and
# GL dispatch libraries (.gl/), this machine's Node binary and Dawn addon compressed, and the
# bundled scripts (.devicebin/dist/*.mjs). Both folders are git-excluded; the device tool carries
# them. Usage: bash scripts/device/prepare.sh [bundle entry .ts files...]
set -eu
cd "$(dirname "$0")/../.."
grep -qx '/.gl/' .git/info/exclude || echo '/.gl/' >> .git/info/exclude
grep -qx '/.devicebin/' .git/info/exclude || echo '/.devicebin/' >> .git/info/exclude
mkdir -p .gl .devicebin/node_modules/webgpu /tmp/amd64/partial
if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update -qq
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
[ -f .devicebin/node.xz ] || xz -T0 -6 -c "$(readlink -f "$(command -v node)")" > .devicebin/node.xz
[ -f .devicebin/dawn.node.xz ] || xz -6 -c node_modules/webgpu/dist/linux-x64/dawn.node > .devicebin/dawn.node.xz
cp node_modules/webgpu/package.json node_modules/webgpu/index.js .devicebin/node_modules/webgpu/
# The rest of node_modules, less what the GPU machine cannot use (browsers, typings, source maps):
# enough for Vitest, vite-node and TF.js there (~15 MB compressed).
[ -f .devicebin/node_modules.tar.xz ] || tar -cf - --exclude='node_modules/webgpu' --exclude='node_modules/typescript' \
  --exclude='node_modules/onnxruntime-web' --exclude='node_modules/onnxruntime-common' --exclude='node_modules/puppeteer-core' --exclude='node_modules/chromium-bidi' --exclude='node_modules/devtools-protocol' \
  --exclude='node_modules/@types' --exclude='*.map' --exclude='node_modules/@tensorflow/*/dist/tf-*.js' node_modules \
  | xz -T0 -6 > .devicebin/node_modules.tar.xz
# The layer benchmark reads layer shapes from the real prototxts (a few KB).
shared="${CNNVIS_SHARED:-../shared}"
for m in squeezenet1_1 googlenet; do
  mkdir -p .devicebin/shared/models/$m && cp "$shared/models/$m/deploy.prototxt" .devicebin/shared/models/$m/
done
# The network benchmark's models, as float16 (both engines run them from the same file).
for m in squeezenet1_1 googlenet; do
  [ -f .devicebin/weights/$m/weights.safetensors ] || npm run --silent weights -- --shared "$shared" --only $m --f16 --out .devicebin/weights
done
for entry in "$@"; do
  npx vite build -c scripts/device/vite.device.config.ts --ssr "$entry" --logLevel warn
done
du -sh .gl .devicebin
