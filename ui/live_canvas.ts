// A canvas that shows an image tensor of the page's runtime, frame after frame (the live view of
// an optimization run). Where the browser lets a canvas share the GPU device, the canvas gets a
// WebGPU context configured on the runtime's own device, and each frame is one render pass of
// shaders/tensor_to_canvas.wgsl reading the tensor's buffer: nothing comes back to the CPU. Else
// (no 'webgpu' canvas context) each frame is read back and drawn with the 2D context.
//
// Only ui/session.ts creates these (elements never hold the device); an element hands over its
// <canvas> and gets frames drawn into it.

import type { Model } from '../engine/index';
import { tensorToImage } from '../engine/index';
import type { Tensor } from '../engine/tensor';
import code from '../shaders/tensor_to_canvas.wgsl?raw';

/** How frames reach the canvas: 'gpu' (shared device, no read-back) or 'readback' (2D context). */
export type CanvasPath = 'gpu' | 'readback';

export interface LiveCanvas {
  path: CanvasPath;
  /** Draw sample 0 of `image` (N, 3, H, W), in the model's input space. */
  draw(image: Tensor): Promise<void>;
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

function gpuCanvas(model: Model, canvas: HTMLCanvasElement, ctx: GPUCanvasContext): LiveCanvas {
  const device = model.rt.device;
  const format = navigator.gpu.getPreferredCanvasFormat();
  ctx.configure({ device, format, alphaMode: 'opaque', usage: RENDER_ATTACHMENT });
  const module = device.createShaderModule({ label: 'tensor_to_canvas', code });
  const pipeline = device.createRenderPipeline({
    label: 'tensor_to_canvas',
    layout: 'auto',
    vertex: { module, entryPoint: 'vs' },
    fragment: { module, entryPoint: 'fs', targets: [{ format }] },
    primitive: { topology: 'triangle-list' },
  });
  const uniform = device.createBuffer({ label: 'tensor_to_canvas params', size: 64, usage: UNIFORM | COPY_DST });
  return {
    path: 'gpu',
    async draw(image) {
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
    },
  };
}

function readbackCanvas(model: Model, canvas: HTMLCanvasElement): LiveCanvas {
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('live view: this browser gives the canvas neither a WebGPU nor a 2D context');
  return {
    path: 'readback',
    async draw(image) {
      const rgba = await tensorToImage(image, model.spec.input);
      const data = new ImageData(new Uint8ClampedArray(rgba), image.w, image.h);
      const bmp = await createImageBitmap(data);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(bmp, 0, 0, canvas.width, canvas.height);
      bmp.close();
    },
  };
}

/**
 * A live canvas on the model's device: the GPU path where the browser allows it, else read-back.
 * The default is the GPU path on GPU adapters only: headless Chromium on SwiftShader (a CPU
 * adapter, as in the end-to-end tests) destroys the device after the first frame presented to a
 * shared canvas ("A valid external Instance reference no longer exists"), so CPU adapters read back.
 */
export function liveCanvas(model: Model, canvas: HTMLCanvasElement, prefer: CanvasPath = model.rt.kind === 'gpu' ? 'gpu' : 'readback'): LiveCanvas {
  const ctx = prefer === 'gpu' ? (canvas.getContext('webgpu') as GPUCanvasContext | null) : null;
  if (ctx) {
    try {
      return gpuCanvas(model, canvas, ctx);
    } catch {
      // A browser without canvas sharing for this device: fall through to the read-back path.
    }
  }
  return readbackCanvas(model, canvas);
}
