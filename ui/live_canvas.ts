// A canvas that shows an image tensor of the page's runtime, frame after frame (the live view of
// an optimization run). Where the browser lets a canvas share the GPU device, the canvas gets a
// WebGPU context configured on the runtime's own device, and each frame is one render pass of
// shaders/tensor_to_canvas.wgsl reading the tensor's buffer: nothing comes back to the CPU. Else
// each frame is read back and drawn with the 2D context.
//
// Whether the canvas can share the device is known on GPU adapters (it can). On CPU adapters it
// depends on the browser's compositor: headless Chromium on SwiftShader with its default flags
// cannot present a WebGPU canvas (Dawn drops its whole wire instance on the first presented frame,
// "A valid external Instance reference no longer exists": every device of the page is lost with
// it), while with --use-angle=swiftshader (the compositor on ANGLE over SwiftShader) it presents
// frame after frame. So on CPU adapters probeCanvasSharing() presents one frame of a throwaway
// device to an OffscreenCanvas BEFORE the page creates its runtime (ui/session.ts): when that
// loses its device nothing else is lost yet, and the live views read back.
//
// Only ui/session.ts creates these (elements never hold the device); an element hands over its
// <canvas> and gets frames drawn into it.

import { adapterKind } from '../engine/device';
import type { Model } from '../engine/index';
import { tensorToImage } from '../engine/index';
import type { Tensor } from '../engine/tensor';
import code from '../shaders/tensor_to_canvas.wgsl?raw';

/** How frames reach the canvas: 'gpu' (shared device, no read-back) or 'readback' (2D context). */
export type CanvasPath = 'gpu' | 'readback';
/** What a page asks for (URL `canvas=`): the GPU path where it works ('auto'), or one path. */
export type CanvasChoice = 'auto' | CanvasPath;
export const CANVAS_CHOICES: readonly CanvasChoice[] = ['auto', 'gpu', 'readback'];

export interface LiveCanvas {
  path: CanvasPath;
  /** Why this path (shown under the canvas). */
  note: string;
  /** Frames drawn, and frames that were read back to the CPU to draw them. */
  frames: number;
  readbacks: number;
  /** Draw sample 0 of `image` (N, 3, H, W), in the model's input space. */
  draw(image: Tensor): Promise<void>;
  /** Free what the view holds on the device (the run is over; the canvas keeps its last frame). */
  dispose(): void;
}

/** The canvas's own size: the image's times the whole factor that brings its longest side to at least 288 px. */
function fit(canvas: HTMLCanvasElement, image: Tensor): void {
  const k = Math.max(1, Math.ceil(288 / Math.max(image.w, image.h)));
  if (canvas.width !== image.w * k) canvas.width = image.w * k;
  if (canvas.height !== image.h * k) canvas.height = image.h * k;
}

const UNIFORM = 0x40;
const COPY_DST = 0x8;
const RENDER_ATTACHMENT = 0x10;

/** Uniform words of tensor_to_canvas.wgsl's Params (64 bytes). */
function params(model: Model, image: Tensor, canvas: HTMLCanvasElement): ArrayBuffer {
  const i = model.spec.input;
  const buf = new ArrayBuffer(64);
  const f = new Float32Array(buf);
  const u = new Uint32Array(buf);
  f.set(i.mean, 0);
  f.set(i.std, 4);
  u[8] = image.w;
  u[9] = image.h;
  u[10] = image.boundBase;
  u[11] = i.channelOrder === 'bgr' ? 1 : 0;
  f[12] = i.scale;
  f[14] = canvas.width;
  f[15] = canvas.height;
  return buf;
}

/** The GPU path's view of `canvas` (its WebGPU context `ctx` configured on the model's device); exported for tests. */
export async function gpuCanvas(model: Model, canvas: HTMLCanvasElement, ctx: GPUCanvasContext, note: string): Promise<LiveCanvas> {
  const device = model.rt.device;
  const format = navigator.gpu.getPreferredCanvasFormat();
  ctx.configure({ device, format, alphaMode: 'opaque', usage: RENDER_ATTACHMENT });
  const module = device.createShaderModule({ label: 'tensor_to_canvas', code });
  const pipeline = await device.createRenderPipelineAsync({
    label: 'tensor_to_canvas',
    layout: 'auto',
    vertex: { module, entryPoint: 'vs' },
    fragment: { module, entryPoint: 'fs', targets: [{ format }] },
    primitive: { topology: 'triangle-list' },
  });
  const uniform = device.createBuffer({ label: 'tensor_to_canvas params', size: 64, usage: UNIFORM | COPY_DST });
  // Should presenting kill the device after all (a probe that passed, a driver that resets), the
  // next runtime's live views read back instead of losing their device again.
  // (A run ended by the loss may have disposed its view first: what counts is that it presented.)
  void model.rt.gpu.lost.then(() => {
    if (view.frames > 0) lostWhilePresenting = true;
  });
  const view: LiveCanvas = {
    path: 'gpu', note, frames: 0, readbacks: 0,
    dispose() {
      uniform.destroy();
    },
    async draw(image) {
      fit(canvas, image);
      model.rt.flush(); // the image's producers go first in queue order
      device.queue.writeBuffer(uniform, 0, params(model, image, canvas));
      const bind = device.createBindGroup({
        label: 'tensor_to_canvas', layout: pipeline.getBindGroupLayout(0),
        entries: [{ binding: 0, resource: { buffer: uniform } }, { binding: 1, resource: image.binding() }],
      });
      const enc = device.createCommandEncoder({ label: 'tensor_to_canvas' });
      const pass = enc.beginRenderPass({
        label: 'tensor_to_canvas',
        colorAttachments: [{ view: ctx.getCurrentTexture().createView(), loadOp: 'clear', storeOp: 'store', clearValue: [0, 0, 0, 1] }],
      });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bind);
      pass.draw(3);
      pass.end();
      device.queue.submit([enc.finish()]);
      view.frames++;
    },
  };
  return view;
}

function readbackCanvas(model: Model, canvas: HTMLCanvasElement, note: string): LiveCanvas {
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('live view: this canvas gives neither a WebGPU nor a 2D context (it had one of the other kind already)');
  const view: LiveCanvas = {
    path: 'readback', note, frames: 0, readbacks: 0,
    dispose() {},
    async draw(image) {
      fit(canvas, image);
      const rgba = await tensorToImage(image, model.spec.input);
      view.readbacks++;
      const data = new ImageData(new Uint8ClampedArray(rgba), image.w, image.h);
      const bmp = await createImageBitmap(data);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(bmp, 0, 0, canvas.width, canvas.height);
      bmp.close();
      view.frames++;
    },
  };
  return view;
}

/** Software adapters (engine/device.ts's adapterKind, or an adapter-level fallback flag): their canvas sharing needs the probe. */
function isSoftware(adapter: GPUAdapter): boolean {
  return adapterKind(adapter.info) === 'cpu' || !!(adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
}

let sharing: Promise<boolean> | null = null;
/** Set when a device was lost while a GPU-path live canvas was on it: the page reads back from then on. */
let lostWhilePresenting = false;

/** A probe that has not answered by then counts as "cannot share" (the page must not wait on it). */
const PROBE_TIMEOUT_MS = 3000;

/**
 * Whether a WebGPU canvas can share a device on this page: true on hardware adapters; on software
 * ones, whether a throwaway device presents one frame to an OffscreenCanvas without being lost.
 * Call it before the page creates its own device (a failure takes every device of the page with
 * it). Memoized; never rejects.
 */
export function probeCanvasSharing(): Promise<boolean> {
  sharing ??= Promise.race([probe(), new Promise<boolean>((r) => setTimeout(() => r(false), PROBE_TIMEOUT_MS))]).catch(() => false);
  return sharing;
}

async function probe(): Promise<boolean> {
  if (typeof navigator === 'undefined' || !navigator.gpu || typeof OffscreenCanvas === 'undefined') return false;
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return false;
  if (!isSoftware(adapter)) return true;
  const device = await adapter.requestDevice({ label: 'canvas sharing probe' });
  let lost = false;
  void device.lost.then(() => (lost = true));
  const ctx = new OffscreenCanvas(4, 4).getContext('webgpu');
  if (!ctx) {
    device.destroy();
    return false;
  }
  ctx.configure({ device, format: navigator.gpu.getPreferredCanvasFormat(), alphaMode: 'opaque' });
  const enc = device.createCommandEncoder({ label: 'canvas sharing probe' });
  enc.beginRenderPass({ colorAttachments: [{ view: ctx.getCurrentTexture().createView(), loadOp: 'clear', storeOp: 'store', clearValue: [0, 0, 0, 1] }] }).end();
  device.queue.submit([enc.finish()]);
  const done = await device.queue.onSubmittedWorkDone().then(() => true, () => false);
  // The frame is presented at the next rendering update; a failure shows within it (about 40 ms here).
  for (let k = 0; k < 2; k++) await new Promise((r) => (typeof requestAnimationFrame === 'function' ? requestAnimationFrame(r) : setTimeout(r, 16)));
  await new Promise((r) => setTimeout(r, 20));
  const ok = done && !lost;
  if (!lost) device.destroy();
  return ok;
}

/**
 * A live canvas on the model's device. `choice` 'auto' takes the GPU path on hardware adapters and
 * on software ones where probeCanvasSharing() passed; 'gpu' asks for it anyway, but never where the
 * probe showed that presenting loses the device (it reads back and says why); 'readback' reads back.
 */
export async function liveCanvas(model: Model, canvas: HTMLCanvasElement, choice: CanvasChoice = 'auto'): Promise<LiveCanvas> {
  const hardware = model.rt.kind === 'gpu';
  const shares = hardware || (sharing ? await sharing : false); // no probe run: assume it cannot
  if (choice === 'readback') return readbackCanvas(model, canvas, 'read back each iteration (canvas=readback)');
  if (lostWhilePresenting) return readbackCanvas(model, canvas, 'read back each iteration: the GPU device was lost while a WebGPU canvas was presenting on this page, so the live views no longer share it');
  if (!shares) {
    const why = 'read back each iteration: presenting a WebGPU canvas loses the device in this browser (a CPU adapter whose compositor cannot share it; see ui/live_canvas.ts)';
    return readbackCanvas(model, canvas, choice === 'gpu' ? `${why}; canvas=gpu was asked for and refused` : why);
  }
  const ctx = canvas.getContext('webgpu') as GPUCanvasContext | null;
  if (ctx) {
    try {
      return await gpuCanvas(model, canvas, ctx, 'drawn from the GPU each iteration (the canvas shares the device, no read-back)');
    } catch {
      // A context that refuses this device: read back (a canvas with a WebGPU context has no 2D one: the error says so).
    }
  }
  return readbackCanvas(model, canvas, 'read back each iteration (this canvas gives no WebGPU context for the device)');
}
