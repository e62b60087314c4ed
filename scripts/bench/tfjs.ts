// TF.js's WebGPU backend on the same adapter as the engine, and the TF.js equivalent of each
// benchmarked layer. TF.js's WebGPU backend has no NCHW convolutions, so inputs are NHWC and
// filters HWIO (converted once, untimed). Grouped convolutions (Caffe AlexNet) are one conv per
// group on pre-split inputs plus a concat of the outputs (the concat is timed). Backward to the
// input is tf.conv2dTranspose; FC layers are tf.fused.matMul with bias (forward) and tf.matMul
// (backward to the input).

import type * as TF from '@tensorflow/tfjs-core';
import { installNavigatorGpu } from './gpu';
import { nchwToNhwc, nhwcToNchw, oihwToHwio, xShape, yShape, type LayerData } from './data';
import type { BenchLayer, Direction } from './layers';
import type { Timed } from './timing';

export type Tf = typeof TF;

export interface TfjsHandle {
  tf: Tf;
  /** Adapter description as TF.js's backend reports it. */
  adapter: string;
}

interface WebGpuBackendLike {
  device: GPUDevice;
  adapterInfo?: { vendor?: string; architecture?: string };
  commandEncoder: GPUCommandEncoder | null;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

/** Start TF.js on the WebGPU backend; throws with the reason if it cannot. */
export async function startTfjs(): Promise<TfjsHandle> {
  await installNavigatorGpu();
  const tf = await import('@tensorflow/tfjs-core');
  // Gradients (tf.grad in the --networks backward) live in a separate registration module.
  await import('@tensorflow/tfjs-core/dist/register_all_gradients');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") failed');
  await tf.ready();
  const b = tf.backend() as unknown as WebGpuBackendLike;
  const info = b.adapterInfo ?? {};
  return { tf, adapter: [info.vendor, info.architecture].filter((s) => s).join(' / ') || 'unknown adapter' };
}

/** Submit TF.js's pending commands and wait for its queue. */
export async function tfSync(tf: Tf): Promise<void> {
  const b = tf.backend() as unknown as WebGpuBackendLike;
  // What TF.js itself does before a read: close the open pass, submit the batch.
  if (b.commandEncoder) {
    b.endComputePassEncoder();
    b.submitQueue();
  }
  await b.device.queue.onSubmittedWorkDone();
}

/** A timed TF.js layer; output() reads the last result back as dense NCHW. */
export interface TfLayerRunner extends Timed {
  output(): Promise<Float32Array>;
  dispose(): void;
}

export function tfLayer(h: TfjsHandle, l: BenchLayer, dir: Direction, d: LayerData): TfLayerRunner {
  const { tf } = h;
  const inputs: TF.Tensor[] = [];
  const keep = <T extends TF.Tensor>(t: T): T => (inputs.push(t), t);
  let op: () => TF.Tensor;
  let outShape: readonly number[];

  if (l.conv) {
    const c = l.conv;
    const g = c.groups;
    const x = keep(tf.tensor4d(nchwToNhwc(d.x, xShape(l)), [c.n, c.h, c.w, c.cin]));
    const w = keep(tf.tensor4d(oihwToHwio(d.w, c), [c.kh, c.kw, c.cin / g, c.cout]));
    const b = keep(tf.tensor1d(d.b));
    const dy = keep(tf.tensor4d(nchwToNhwc(d.dy, yShape(l)), [c.n, c.oh, c.ow, c.cout]));
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [c.pad[0], c.pad[1]], [c.pad[2], c.pad[3]], [0, 0]];
    const strides: [number, number] = [c.sh, c.sw];
    const split = <T extends TF.Tensor>(t: T, axis: number): T[] => (g === 1 ? [t] : (tf.split(t, g, axis) as T[]).map(keep));
    const [xs, ws, bs, dys] = [split(x, 3), split(w, 3), split(b, 0), split(dy, 3)];
    const concat = (parts: TF.Tensor4D[]): TF.Tensor4D => (parts.length === 1 ? parts[0] : tf.concat(parts, 3));
    if (dir === 'forward') {
      outShape = yShape(l);
      op = () => concat(xs.map((xg, i) => tf.fused.conv2d({ x: xg, filter: ws[i], strides, pad, bias: bs[i] })));
    } else {
      outShape = xShape(l);
      op = () => concat(dys.map((dg, i) => tf.conv2dTranspose(dg, ws[i], [c.n, c.h, c.w, c.cin / g], strides, pad)));
    }
  } else {
    const f = l.linear!;
    const x = keep(tf.tensor2d(d.x, [f.n, f.inFeatures]));
    const w = keep(tf.tensor2d(d.w, [f.outFeatures, f.inFeatures]));
    const b = keep(tf.tensor1d(d.b));
    const dy = keep(tf.tensor2d(d.dy, [f.n, f.outFeatures]));
    if (dir === 'forward') {
      outShape = yShape(l);
      op = () => tf.fused.matMul({ a: x, b: w, transposeB: true, bias: b });
    } else {
      outShape = xShape(l);
      op = () => tf.matMul(dy, w);
    }
  }

  let last: TF.Tensor | null = null;
  return {
    run() {
      const y = tf.tidy(op);
      last?.dispose();
      last = y;
    },
    sync: () => tfSync(tf),
    async output() {
      if (!last) throw new Error(`${l.name}: output() before run()`);
      const data = (await last.data()) as Float32Array;
      return l.conv ? nhwcToNchw(data, outShape) : data;
    },
    dispose() {
      last?.dispose();
      last = null;
      for (const t of inputs) t.dispose();
    },
  };
}
