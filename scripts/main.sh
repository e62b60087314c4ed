#!/usr/bin/env bash
# The main job: set up, classify a few sample images with each converted model through the CLI,
# then build and serve the app (scripts/start.sh, http://127.0.0.1:${PORT:-5173}/) until interrupted.
# NO_SERVE=1 skips serving.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
export VK_ICD_FILENAMES="${VK_ICD_FILENAMES:-/usr/lib/chromium/vk_swiftshader_icd.json}"
shared="${CNNVIS_SHARED:-../shared}"
imagenet="$shared/images/imagenet-samples"
tiny="$shared/models/tinyvgg/samples"

for model in squeezenet1_1 googlenet alexnet alexnet_caffe; do
  if [ ! -f "weights/$model/model.json" ]; then
    echo "== $model: no converted weights in weights/$model, skipped"
    continue
  fi
  echo "== $model"
  npm run --silent cli -- classify --model "$model" --top 3 \
    "$imagenet/n01443537_goldfish.JPEG" "$imagenet/n01882714_koala.JPEG" "$imagenet/n03662601_lifeboat.JPEG" "$imagenet/n09472597_volcano.JPEG"
done
echo "== tinyvgg"
npm run --silent cli -- classify --model tinyvgg --top 3 "$tiny/boat_1.jpeg" "$tiny/koala_1.jpeg" "$tiny/pizza_1.jpeg"

# --- demo: a few fast techniques through the CLI into results/demo/ (under a minute on SwiftShader);
# docs/gallery/GALLERY.md shows more, with the commands that made them.
echo "== demo: saliency, gradcam, occlusion (tinyvgg), saliency (squeezenet1_1) -> results/demo/"
demo=results/demo
for technique in saliency gradcam occlusion; do
  npm run --silent cli -- "$technique" --model tinyvgg --out "$demo/$technique-tinyvgg" "$tiny/koala_1.jpeg" "$tiny/boat_1.jpeg"
done
if [ -f weights/squeezenet1_1/model.json ]; then
  npm run --silent cli -- saliency --model squeezenet1_1 --out "$demo/saliency-squeezenet1_1" "$imagenet/n01443537_goldfish.JPEG"
fi
echo "== demo pictures:"; find "$demo" -name '*.png' | sort
# --- end of demo

if [ "${NO_SERVE:-0}" = 1 ]; then exit 0; fi
echo "== the app (npm start: build dist/, serve it until Ctrl-C)"
exec bash scripts/start.sh
