// `npm run bench`: our WebGPU kernels side by side with TF.js's WebGPU backend on the same
// adapter. Part one (default): every conv layer of AlexNet (torchvision and Caffe forms),
// SqueezeNet 1.1 and GoogLeNet and AlexNet's FC layers, forward and backward to the input, per
// kernel variant. Part two (--networks): whole-network images/second, forward and
// forward+backward. Part three (--techniques): every visualization technique beside the same
// technique in TF.js. Results also go to results/bench-<timestamp>.json. See scripts/bench/args.ts.

import { join } from 'node:path';
import { parseArgs } from './bench/args';
import { createContext } from './bench/context';
import { estimateSeconds, layerSummary, runLayerBench } from './bench/layer_bench';
import { benchLayers } from './bench/layers';
import { runNetworkBench } from './bench/network_bench';
import { runTechniqueBench } from './bench/technique_bench';
import { writeResults } from './bench/report';

const SHARED = process.env.CNNVIS_SHARED ?? join(process.cwd(), '..', 'shared');

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const ctx = await createContext(args);
  const log = (s: string) => console.log(s);
  try {
    log(`our engine: ${ctx.ourAdapter}`);
    log(`TF.js:      ${ctx.tf ? `webgpu backend, adapter ${ctx.tf.adapter}` : `not measured -- ${ctx.tfMissing}`}`);
    log(`timing: ${ctx.timing.warmup} warm-up run(s), then median of ${ctx.timing.repeats} repeats of ${ctx.timing.iters} back-to-back iteration(s); wall time to queue completion`);
    log('TF.js inputs are NHWC, filters HWIO (converted before timing); grouped convs run as one TF.js conv per group + concat (timed); backward to input = tf.conv2dTranspose; FC = tf.fused.matMul (+bias) / tf.matMul');
    const results: Record<string, unknown> = {
      date: new Date().toISOString(),
      adapter: { ours: ctx.ourAdapter, tfjs: ctx.tf?.adapter ?? null, kind: ctx.rt.kind },
      tfjsMissing: ctx.tfMissing,
      defaultVariants: ctx.defaults,
      timing: ctx.timing,
      args: process.argv.slice(2),
    };
    if (args.techniques) {
      results.techniques = await runTechniqueBench(args, ctx, log);
    } else if (args.networks) {
      results.networks = await runNetworkBench(args, ctx, log);
    } else {
      if (args.model === 'tinyvgg') throw new Error('--model tinyvgg is for --techniques only (the layer benchmark covers alexnet, squeezenet and googlenet)');
      const layers = benchLayers({ sharedDir: SHARED, weightsDir: args.weightsDir, batch: args.batch, quick: args.quick, filter: args.filter, model: args.model });
      if (!layers.length) throw new Error('no layer matches the --filter / --model given');
      log(`${layers.length} layers x (forward, backward); estimated total ~${Math.ceil(estimateSeconds(layers, ctx))} s`);
      const rows = await runLayerBench(layers, ctx, log);
      log('');
      for (const line of layerSummary(rows)) log(line);
      results.layers = rows;
    }
    results.totalSeconds = (performance.now() - started) / 1000;
    log(`\nwrote ${writeResults(join(process.cwd(), 'results'), results)} (${(results.totalSeconds as number).toFixed(0)} s in all)`);
  } finally {
    ctx.destroy();
  }
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(e.message);
    process.exit(1);
  },
);
