#!/usr/bin/env bash
# `npm start`: convert the weights if they are missing, build the app (dist/) and serve it, with
# the /weights/ and /shared/ data routes (scripts/serve.ts), on http://127.0.0.1:${PORT:-5173}/.
#
# `npm run build` alone makes the static site in dist/ that deploys anywhere: copy weights/<model>/
# and the shared sample images next to it, or point it at them, at build time with
# VITE_CNNVIS_WEIGHTS=<base URL> and VITE_CNNVIS_SHARED=<base URL> (defaults /weights/, /shared/),
# or at run time with ?weights=<base URL>&shared=<base URL> in the page's address.
set -euo pipefail
cd "$(dirname "$0")/.."

shared="${CNNVIS_SHARED:-../shared}"
for model in squeezenet1_1 googlenet tinyvgg; do
  if [ ! -f "weights/$model/model.json" ] || [ ! -f "weights/$model/weights.safetensors" ]; then
    echo "start: converting the weights (weights/$model is missing)" >&2
    npm run --silent weights -- --shared "$shared" >&2
    break
  fi
done

npx vite build --logLevel warn
port="${PORT:-5173}"
echo "cnnvis: http://127.0.0.1:$port/   (Chrome/Edge 113+ with WebGPU; Ctrl-C stops the server)"
exec npx vite preview --host 127.0.0.1 --port "$port" --strictPort
