// The kernel inspector's engine side (the app's `?technique=inspector` panel, ui/cnn-inspector.ts):
// profile one forward + backward pass of a model (rt.profile, one record per dispatch, tagged with
// the layer that issued it), and measure the adapter's ceilings for a roofline chart with a short
// calibration run: a large GEMM through the engine's own linear op (compute ceiling, FLOP/s) and a
// large axpy (bandwidth ceiling, bytes/s). Everything returned is plain data.

import { KERNELS } from './kernels/registry';
import type { Model } from './models/graph';
import { axpy, fill } from './ops/elementwise';
import { linear } from './ops/linear';
import type { DispatchRecord, Profile } from './profile';
import type { Runtime } from './runtime';
import { Tensor } from './tensor';

/** The adapter's measured ceilings. */
export interface Ceilings {
  /** Best achieved FLOP/s of the calibration GEMM. */
  flopsPerSec: number;
  /** Best achieved bytes/s of the calibration axpy. */
  bytesPerSec: number;
  timing: Profile['timing'];
  /** What was run, for the chart's caption. */
  note: string;
}

/** Calibration sizes: GEMM (N, K) x (K, M) and axpy over `floats` elements, repeated `reps` times. */
export interface CalibrationSize {
  gemm: [number, number, number];
  floats: number;
  reps: number;
}

/** Small on a CPU adapter (SwiftShader: ~1-2 GFLOP/s, the run takes well under a second), large on a GPU. */
export function calibrationSize(rt: Runtime): CalibrationSize {
  return rt.kind === 'cpu' ? { gemm: [64, 512, 512], floats: 1 << 20, reps: 3 } : { gemm: [2048, 2048, 2048], floats: 1 << 24, reps: 5 };
}

/**
 * A calibration operand: filled on the GPU with a non-zero constant (the rates do not depend on
 * the values; generating and uploading the 9 MB of a CPU-adapter calibration from the page's
 * main thread took 80 ms there, one long task).
 */
function constant(rt: Runtime, shape: [number, number, number, number], v: number, label: string): Tensor {
  return fill(Tensor.empty(rt, shape, label), v);
}

/** Per-dispatch rate (amount / second) of the profiled reps: the best dispatch, or the whole pass's average without timestamps. */
function bestRate(p: Profile, amount: (r: DispatchRecord) => number): number {
  if (p.timing === 'timestamp-query') return Math.max(...p.records.map((r) => (r.gpuNs ? amount(r) / (r.gpuNs * 1e-9) : 0)));
  return p.records.reduce((s, r) => s + amount(r), 0) / (p.wallMs * 1e-3);
}

/** Measure the compute and bandwidth ceilings (each op warmed up once first, so no compile time is timed). */
export async function calibrate(rt: Runtime, size: CalibrationSize = calibrationSize(rt)): Promise<Ceilings> {
  const [n, k, m] = size.gemm;
  const x = constant(rt, [n, k, 1, 1], 0.5, 'calibration x');
  const w = constant(rt, [m, k, 1, 1], -0.25, 'calibration w');
  const y = Tensor.empty(rt, [n, m, 1, 1], 'calibration y');
  const a = constant(rt, [1, size.floats, 1, 1], 0.75, 'calibration a');
  const b = constant(rt, [1, size.floats, 1, 1], 1.5, 'calibration b');
  const c = Tensor.empty(rt, [1, size.floats, 1, 1], 'calibration c');
  try {
    const gemm = () => linear(x, w, null, {}, y);
    const copy = () => axpy(0.5, a, 0.5, b, c);
    gemm();
    copy();
    await rt.sync();
    const reps = async (op: () => unknown) => {
      for (let i = 0; i < size.reps; i++) op();
      await rt.sync();
    };
    const pf = await rt.profile(() => reps(gemm));
    const pb = await rt.profile(() => reps(copy));
    const flopsPerSec = bestRate(pf, (r) => r.flops ?? 2 * n * k * m);
    const bytesPerSec = bestRate(pb, (r) => r.bytes ?? 12 * size.floats);
    return {
      flopsPerSec, bytesPerSec, timing: pf.timing,
      note: `compute: ${size.reps} GEMMs (${n}x${k}) x (${k}x${m}) through linear; bandwidth: ${size.reps} axpy over ${size.floats} floats; ` +
        (pf.timing === 'timestamp-query' ? 'best dispatch by GPU timestamps' : 'average over the wall time (no timestamp-query)'),
    };
  } finally {
    for (const t of [x, w, y, a, b, c]) t.dispose();
  }
}

/** A profiled pass, with what the inspector shows besides the records. */
export interface PassProfile {
  profile: Omit<Profile, 'result'>;
  /** The class whose score was backpropagated (the top-1). */
  classIndex: number;
  label: string;
  /** The network's layers in execution order (the input first). */
  layers: { name: string; type: string; shape: number[] }[];
}

/** Profile a forward pass of `input` (1, 3, H, W) and the backward of its top-1 class score to the image. */
export async function profilePass(model: Model, input: Tensor): Promise<PassProfile> {
  const [[top]] = await model.classify(input, 1); // also compiles every forward pipeline
  const profile = await model.rt.profile(async () => {
    model.forward(input, { keep: true });
    const g = model.backward({ kind: 'class', index: top.index });
    await model.rt.sync();
    g.dispose();
  });
  const { result: _, ...rest } = profile;
  return {
    profile: rest, classIndex: top.index, label: top.label,
    layers: model.layers.map((l) => ({ name: l.name, type: l.type, shape: [...l.shape] })),
  };
}

/** The WGSL source of a kernel family (the registry's), or '' when unknown. */
export function kernelSource(family: string): string {
  return KERNELS.find((k) => k.name === family)?.code ?? '';
}
