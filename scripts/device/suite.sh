#!/usr/bin/env bash
# On the lent GPU machine: unpack Node, Dawn, the Vulkan loader and node_modules carried in .gl/
# and .devicebin/ (see prepare.sh), then run the kernel and graph tests on the real GPU (its
# default 'gpu' kernel variants, plus the forced variants the tests run) and the benchmark.
# Usage: bash scripts/device/suite.sh; results land in $OUT when set. Carry .gl and .devicebin;
# the network benchmark reads float16 copies of the models from .devicebin/weights (prepare.sh),
# which keeps what travels under the device tool's 64 MiB.
set -u
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
unset VK_ICD_FILENAMES
mkdir -p /tmp/nodebin
[ -x /tmp/nodebin/node ] || { xz -dc .devicebin/node.xz > /tmp/nodebin/node && chmod +x /tmp/nodebin/node; }
export PATH=/tmp/nodebin:$PATH
[ -d node_modules/vitest ] || xz -dc .devicebin/node_modules.tar.xz | tar -xf -
mkdir -p node_modules/webgpu/dist/linux-x64
cp .devicebin/node_modules/webgpu/* node_modules/webgpu/ 2>/dev/null
[ -f node_modules/webgpu/dist/linux-x64/dawn.node ] || xz -dc .devicebin/dawn.node.xz > node_modules/webgpu/dist/linux-x64/dawn.node
out=${OUT:-/tmp/out}; mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
tests=$(ls tests/*.test.ts | grep -v -e browser -e cli -e model_real -e model_weights -e convert_ -e safetensors -e bench_harness)
echo "=== tests on the GPU: $(echo $tests | wc -w) files"
node node_modules/vitest/vitest.mjs run $tests --maxWorkers=8 --reporter=default --reporter=json --outputFile.json="$out/vitest-gpu.json" 2>&1 | tail -40
node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed (GPU)`)' "$out/vitest-gpu.json"
export CNNVIS_SHARED=$PWD/.devicebin/shared
echo "=== bench: layers"
node node_modules/vite-node/dist/cli.mjs scripts/bench.ts 2>&1 | grep -v XDG_RUNTIME > "$out/bench-layers.txt"; tail -8 "$out/bench-layers.txt"
echo "=== bench: networks"
node node_modules/vite-node/dist/cli.mjs scripts/bench.ts --networks --weights .devicebin/weights 2>&1 | grep -v XDG_RUNTIME | tee "$out/bench-networks.txt" | tail -30
cp results/bench-*.json "$out/" 2>/dev/null
exit 0
