// `npm run bench:browser`: the benchmark inside a real browser. Node computes the cases from the
// converted specs (scripts/bench/browser/cases.ts), starts a Vite server on 127.0.0.1 and
// headless Chromium (scripts/bench/browser/launch.ts), and the page (scripts/bench/browser/page.ts)
// times our engine and TF.js's WebGPU backend on the same adapter: every conv / linear layer per
// kernel variant, the other layer families, whole networks at batch 1 and --batch, forward and
// backward (and forward on ONNX Runtime Web's WebGPU provider), and every technique (one image of
// each attribution technique, a few steps of each optimization loop; scripts/bench/browser/
// techniques.ts). Prints a table and writes results/bench-browser-<timestamp>.json.

import { BROWSER_USAGE, runBrowserBench } from './bench/browser/run';

const argv = process.argv.slice(2).filter((a) => a !== '--');
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(BROWSER_USAGE);
  process.exit(0);
}
runBrowserBench(argv).then(
  () => process.exit(0),
  (e: Error) => {
    console.error(e.message);
    process.exit(1);
  },
);
