// The benchmark page's script (index.html): `window.cnnvisBench(config)` times every case the
// Node side computed (cases.ts) on our engine and on TF.js's WebGPU backend, in this page, on
// this page's adapter, and returns the rows; each row also goes to `window.cnnvisBenchRow` (a
// function Puppeteer exposes) as soon as it is measured, so the table prints as it goes.
// Clocks: wall time around onSubmittedWorkDone (scripts/bench/timing.ts) always; where the
// adapter has 'timestamp-query', also GPU time from the engine profiler (rt.profile) and from
// tf.time's kernelMs, and that is the reported ms. Technique rows (techniques.ts) are wall time.
// Network rows also time our pass (forward, forward + backward) as a replayed capture (rt.capture,
// recorded once outside the timed region, then replay() timed like the ordinary pass), checked
// against the ordinary pass's logits or input gradient.

// Static imports, so Vite pre-bundles TF.js with the page (tfjs.ts imports these same modules dynamically).
import '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-webgpu';
import { loadModel, type ModelSpec } from '../../../engine/index';
import type { Runtime } from '../../../engine/runtime';
import { createContext, type BenchContext } from '../context';
import { layerData, wShape, xShape, yShape } from '../data';
import type { BenchLayer, Direction } from '../layers';
import { familyOf, ourLayer, variantsFor } from '../ours';
import { buildTfNetwork } from '../tf_network';
import { tfLayer, type Tf } from '../tfjs';
import { checkedReplay, networkBatch, ourNetworkRunner, PASSES, tfNetworkRunner, type NetworkBatch, type Pass } from '../network_runners';
import { measure, median, type TimingOptions } from '../timing';
import { opBytes, opDirections, opFlops, opShapeText, ourOp, tfOp, type Runner } from './ops';
import { closeOrt, openOrt, ortForward, ortInfo } from './ort';
import { techniqueRows } from './techniques';
import type { BrowserRow, EngineTiming, LayerCase, NetworkCase, OpCase, PageConfig, PageResult } from './types';
import type { Model } from '../../../engine/index';

declare global {
  interface Window {
    cnnvisBench(config: PageConfig): Promise<PageResult>;
    cnnvisBenchRow?: (row: BrowserRow) => Promise<void>;
    cnnvisBenchLog?: (line: string) => Promise<void>;
  }
}

/** GPU ms per iteration of one repeat, or null where this engine has no timestamps. */
type GpuClock = (r: Runner, iters: number) => Promise<number | null>;

const count = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

function ourClock(rt: Runtime): GpuClock | null {
  if (!rt.gpu.timestamps) return null;
  return async (r, iters) => {
    const p = await rt.profile(() => {
      for (let i = 0; i < iters; i++) r.run();
    });
    if (p.records.some((rec) => rec.gpuNs === null)) return null;
    return p.records.reduce((s, rec) => s + rec.gpuNs!, 0) / 1e6 / iters;
  };
}

function tfClock(tf: Tf): GpuClock {
  return async (r, iters) => {
    const info = await tf.time(() => {
      for (let i = 0; i < iters; i++) r.run();
    });
    return typeof info.kernelMs === 'number' && info.kernelMs > 0 ? info.kernelMs / iters : null;
  };
}

const failed = (error: string): EngineTiming => ({ ms: null, wallMs: null, gpuMs: null, gflops: null, gbps: null, error });

async function timeEngine(make: () => Runner, o: TimingOptions, clock: GpuClock | null, flops: number, bytes: number): Promise<EngineTiming> {
  let r: Runner | null = null;
  try {
    r = make();
    const wall = await measure(r, o);
    const gpu: number[] = [];
    if (clock) {
      for (let i = 0; i < o.repeats; i++) {
        const ms = await clock(r, o.iters);
        if (ms === null) break;
        gpu.push(ms);
      }
    }
    const samples = gpu.length === o.repeats && gpu.length > 0 ? gpu : wall.samples;
    const ms = median(samples);
    return {
      ms, wallMs: wall.ms, gpuMs: samples === gpu ? ms : null,
      gflops: flops / (ms * 1e6), gbps: bytes / (ms * 1e6), samples,
      spread: (Math.max(...samples) - Math.min(...samples)) / ms,
    };
  } catch (e) {
    return failed((e as Error).message.split('\n')[0]);
  } finally {
    r?.dispose();
  }
}

const ratio = (tf: EngineTiming | null, ours: number | null | undefined): number | null => (tf?.ms && ours ? tf.ms / ours : null);

async function emit(rows: BrowserRow[], row: BrowserRow): Promise<void> {
  rows.push(row);
  await window.cnnvisBenchRow?.(row);
}

/** Conv / linear: float32 bytes of x, w and y (backward: dy, w, dx). */
function layerBytes(l: BenchLayer): number {
  return 4 * (count(xShape(l)) + count(wShape(l)) + count(yShape(l)));
}

async function layerRows(ctx: BenchContext, layers: readonly LayerCase[], rows: BrowserRow[]): Promise<void> {
  for (const { layer: l, id, shape, flops: f } of layers) {
    const family = familyOf(l);
    const bytes = layerBytes(l);
    for (const dir of ['forward', 'backward'] as Direction[]) {
      const data = layerData(l);
      const variants: Record<string, EngineTiming> = {};
      for (const v of variantsFor(ctx.rt, family)) {
        const rt = await ctx.runtimeFor(family, v);
        variants[v] = await timeEngine(() => ourLayer(rt, l, dir, data), ctx.timing, ourClock(rt), f, bytes);
      }
      const tf = ctx.tf;
      const tfjs = tf ? await timeEngine(() => tfLayer(tf, l, dir, data), ctx.timing, tfClock(tf.tf), f, bytes) : null;
      const ours = variants[ctx.defaults[family]] ?? Object.values(variants)[0];
      const best = Math.min(...Object.values(variants).map((t) => t.ms ?? Infinity));
      await emit(rows, {
        kind: 'layer', id, family, direction: dir, variant: ctx.defaults[family], shape,
        batch: l.conv?.n ?? l.linear!.n, flops: f, bytes, ours, variants, tfjs,
        ratio: ratio(tfjs, ours.ms), ratioBest: ratio(tfjs, Number.isFinite(best) ? best : null),
      });
    }
  }
}

async function opRows(ctx: BenchContext, ops: readonly OpCase[], rows: BrowserRow[]): Promise<void> {
  for (const o of ops) {
    for (const dir of opDirections(o)) {
      const f = opFlops(o);
      const bytes = opBytes(o, dir);
      const ours = await timeEngine(() => ourOp(ctx.rt, o, dir), ctx.timing, ourClock(ctx.rt), f, bytes);
      const tf = ctx.tf;
      // TF.js's LRN gradient ran for over 8 minutes on alexnet_caffe/norm2 on SwiftShader without finishing.
      const skipTf = o.family === 'lrn' && dir === 'backward' && ctx.rt.kind === 'cpu';
      const tfjs = !tf ? null : skipTf ? failed("skipped on CPU adapters: TF.js's LRN backward takes minutes per call there")
        : await timeEngine(() => tfOp(tf.tf, o, dir), ctx.timing, tfClock(tf.tf), f, bytes);
      await emit(rows, {
        kind: 'op', id: `${o.model}/${o.name}`, family: o.family, direction: dir, variant: 'default', shape: opShapeText(o),
        batch: 1, flops: f, bytes, ours, tfjs, ratio: ratio(tfjs, ours.ms),
      });
    }
  }
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`bench page: GET ${url} answered ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * The replayed fields of a network row: the pass's output (logits, or the input gradient) from
 * an ordinary pass, then the same pass recorded with rt.capture and replayed once, max
 * |replayed - ordinary| (0: bit-identical), then replay() timed exactly as the ordinary pass
 * (`o`, our clock).
 */
async function replayedPass(
  rt: Runtime, model: Model, batch: NetworkBatch, pass: Pass, o: TimingOptions, f: number, bytes: number,
): Promise<Pick<BrowserRow, 'oursReplayed' | 'replayMaxAbsDiff' | 'replayDispatches' | 'replayBindGroups'>> {
  let checked: Awaited<ReturnType<typeof checkedReplay>>;
  try {
    checked = await checkedReplay(model, batch, pass);
  } catch (e) {
    return { oursReplayed: failed(`replay check failed: ${(e as Error).message.split('\n')[0]}`), replayMaxAbsDiff: null };
  }
  const { runner, maxAbsDiff } = checked;
  const b0 = rt.stats.bindGroupsCreated;
  // timeEngine disposes the runner (the capture) when it is done.
  const oursReplayed = await timeEngine(() => runner, o, ourClock(rt), f, bytes);
  return { oursReplayed, replayMaxAbsDiff: maxAbsDiff, replayDispatches: runner.dispatches, replayBindGroups: rt.stats.bindGroupsCreated - b0 };
}

async function networkRows(ctx: BenchContext, nets: readonly NetworkCase[], rows: BrowserRow[], ortOptions: { noAdapter: boolean } | null): Promise<void> {
  // Whole networks are slow on CPU adapters: one repeat there unless --repeats says otherwise.
  const o: TimingOptions = { ...ctx.timing, repeats: ctx.rt.kind === 'cpu' && !repeatsGiven ? 1 : ctx.timing.repeats };
  for (const net of nets) {
    const spec = (await (await fetch(`/weights/${net.dir}/model.json`)).json()) as ModelSpec;
    const file = `/weights/${net.dir}/weights.safetensors`;
    const weights = await fetchBytes(file);
    const model = await loadModel(ctx.rt, { spec, weights, file });
    const tf = ctx.tf?.tf;
    const tfNet = tf ? buildTfNetwork(tf, spec, weights, file) : null;
    // ONNX Runtime Web on the same spec and weights, exported in this page (forward rows only: ORT has no backward).
    const ortSide = ortOptions ? await openOrt(spec, weights, file, ortOptions) : null;
    try {
      for (const n of net.batches) {
        const batch = networkBatch(model, tf, n);
        const { shape } = batch;
        try {
          for (const pass of PASSES) {
            const f = net.flopsPerImage * n * (pass === 'forward' ? 1 : 2);
            const bytes = 4 * count(shape);
            const ours = await timeEngine(() => ourNetworkRunner(model, batch, pass), o, ourClock(ctx.rt), f, bytes);
            const replay = await replayedPass(ctx.rt, model, batch, pass, o, f, bytes);
            const tfjs = tf && tfNet ? await timeEngine(() => tfNetworkRunner(tf, tfNet, batch, pass), o, tfClock(tf), f, bytes) : null;
            const ort = ortSide && pass === 'forward' ? await ortForward(ortSide, model, batch.input, (make) => timeEngine(make, o, null, f, bytes)) : { ort: null };
            await emit(rows, {
              kind: 'network', id: `net/${net.dir}`, family: 'network', direction: pass, variant: 'default',
              shape: `(${shape.join(', ')})`, batch: n, flops: f, bytes, ours, tfjs, ratio: ratio(tfjs, ours.ms), ...ort, ratioOrt: ratio(ort.ort ?? null, ours.wallMs),
              ...(replay.oursReplayed ? {
                ...replay, ratioReplayed: ratio(ours, replay.oursReplayed.ms), ratioTfjsReplayed: ratio(tfjs, replay.oursReplayed.ms),
                ratioOrtReplayed: ratio(ort.ort ?? null, replay.oursReplayed.wallMs),
              } : {}),
            });
          }
        } finally {
          batch.dispose();
        }
      }
    } finally {
      model.dispose();
      tfNet?.dispose();
      await closeOrt(ortSide);
    }
  }
}

let repeatsGiven = false;

window.cnnvisBench = async (config: PageConfig): Promise<PageResult> => {
  repeatsGiven = config.repeats !== undefined;
  const ctx = await createContext({
    quick: false, networks: false, techniques: false, noTfjs: !config.tfjs, batch: 1, weightsDir: '/weights',
    iters: config.iters, repeats: config.repeats,
  });
  try {
    const rows: BrowserRow[] = [];
    await layerRows(ctx, config.layers, rows);
    await opRows(ctx, config.ops, rows);
    await networkRows(ctx, config.networks, rows, config.ort !== false ? { noAdapter: config.ortNoAdapter === true } : null);
    await techniqueRows(ctx, config.techniques, config, (row) => emit(rows, row));
    const b = ctx.tf?.tf.backend() as { device?: GPUDevice } | undefined;
    const tfStamps = b?.device?.features.has('timestamp-query') ?? false;
    return {
      adapter: { ...ctx.rt.gpu.adapterInfo, kind: ctx.rt.kind, features: [...(ctx.rt.device.features as unknown as Iterable<string>)] },
      tfjsAdapter: ctx.tf?.adapter ?? null,
      tfjsMissing: ctx.tfMissing,
      timing: ctx.rt.gpu.timestamps ? 'timestamp-query' : 'wall-time',
      tfjsTiming: ctx.tf ? (tfStamps ? 'timestamp-query' : 'wall-time') : null,
      defaultVariants: ctx.defaults,
      timingOptions: ctx.timing,
      rows,
      ort: config.ort !== false && config.networks.length ? ortInfo(config.ortNoAdapter === true) : null,
    };
  } finally {
    ctx.destroy();
  }
};
(window as { cnnvisBenchReady?: boolean }).cnnvisBenchReady = true;
