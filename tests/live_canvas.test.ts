// The live views' GPU path (ui/live_canvas.ts gpuCanvas) in Node, on a stand-in canvas whose
// WebGPU context hands out plain textures of the runtime's device: a frame drawn from an image
// tensor (TinyVGG's input space, seeded noise) is, block for block, the picture the read-back
// path shows (tensorToImage), and dispose() frees the view's device buffer (a live run makes one
// view; the page runs many). The browser end to end is app_live_canvas.test.ts.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadModel, tensorToImage, type Model } from '../engine/index';
import { Tensor } from '../engine/tensor';
import { gpuCanvas } from '../ui/live_canvas';
import { gpu } from './helpers/gpu';
import { rng } from './helpers/random';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The shader rounds its colour once, tensor_to_image.wgsl once: at most one 8-bit level apart. */
const MAX_LEVEL_DIFF = 1;

const TEXTURE_BINDING = 0x4;
const COPY_SRC = 0x1;
const RENDER_ATTACHMENT = 0x10;

/** A canvas and WebGPU context that hand out textures of `device` (what a page's canvas does). */
function standIn(device: GPUDevice) {
  const canvas = { width: 0, height: 0 } as HTMLCanvasElement;
  const textures: GPUTexture[] = [];
  const ctx = {
    configure: vi.fn(),
    unconfigure: vi.fn(),
    getCurrentTexture() {
      const t = device.createTexture({ label: 'stand-in canvas', size: [canvas.width, canvas.height], format: 'rgba8unorm', usage: RENDER_ATTACHMENT | COPY_SRC | TEXTURE_BINDING });
      textures.push(t);
      return t;
    },
  } as unknown as GPUCanvasContext & { configure: ReturnType<typeof vi.fn> };
  return { canvas, ctx, textures };
}

async function readTexture(device: GPUDevice, t: GPUTexture): Promise<Uint8Array> {
  const bytesPerRow = Math.ceil((t.width * 4) / 256) * 256;
  const buf = device.createBuffer({ label: 'stand-in read', size: bytesPerRow * t.height, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
  const enc = device.createCommandEncoder();
  enc.copyTextureToBuffer({ texture: t }, { buffer: buf, bytesPerRow }, [t.width, t.height]);
  device.queue.submit([enc.finish()]);
  await buf.mapAsync(GPUMapMode.READ);
  const rows = new Uint8Array(buf.getMappedRange());
  const out = new Uint8Array(t.width * t.height * 4);
  for (let y = 0; y < t.height; y++) out.set(rows.subarray(y * bytesPerRow, y * bytesPerRow + t.width * 4), y * t.width * 4);
  buf.unmap();
  buf.destroy();
  return out;
}

describe('live canvas, GPU path (stand-in canvas on the Node device)', () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadModel(await gpu(), join(ROOT, 'weights', 'tinyvgg'));
    vi.stubGlobal('navigator', { gpu: { getPreferredCanvasFormat: () => 'rgba8unorm' } });
  });
  afterAll(() => {
    vi.unstubAllGlobals();
  });

  it('draws the tensor as the read-back path does, and dispose() destroys its buffer', async () => {
    const device = model.rt.device;
    const created: GPUBuffer[] = [];
    const destroyed = new Set<GPUBuffer>();
    const createBuffer = device.createBuffer.bind(device);
    const spy = vi.spyOn(device, 'createBuffer').mockImplementation((d: GPUBufferDescriptor) => {
      const b = createBuffer(d);
      if (d.label === 'tensor_to_canvas params') {
        created.push(b);
        const destroy = b.destroy.bind(b);
        b.destroy = () => (destroyed.add(b), destroy());
      }
      return b;
    });
    const { canvas, ctx, textures } = standIn(device);
    const { height: h, width: w } = model.spec.input;
    const random = rng(7);
    const image = Tensor.fromData(model.rt, Float32Array.from({ length: 3 * h * w }, () => (random() - 0.5) * 4), [1, 3, h, w], 'live canvas test image');
    try {
      const view = await gpuCanvas(model, canvas, ctx, 'test');
      spy.mockRestore();
      expect(ctx.configure).toHaveBeenCalledTimes(1);
      expect(created.length, 'uniform buffers the view made').toBe(1);
      await view.draw(image);
      expect([view.frames, view.readbacks]).toEqual([1, 0]);
      const k = canvas.width / w;
      expect(Number.isInteger(k) && k >= 1 && canvas.height === h * k, `canvas ${canvas.width} x ${canvas.height} a whole multiple of ${w} x ${h}`).toBe(true);
      const shown = await readTexture(device, textures[0]);
      const expected = await tensorToImage(image, model.spec.input);
      let worst = 0;
      let at = '';
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          for (const [dy, dx] of [[0, 0], [k - 1, k - 1]]) {
            const p = ((y * k + dy) * canvas.width + x * k + dx) * 4;
            for (let c = 0; c < 3; c++) {
              const d = Math.abs(shown[p + c] - expected[(y * w + x) * 4 + c]);
              if (d > worst) [worst, at] = [d, `pixel (${x}, ${y}) channel ${c}: ${shown[p + c]} vs ${expected[(y * w + x) * 4 + c]}`];
            }
          }
        }
      }
      expect(worst, `largest |GPU path - read-back| in 8-bit levels, at ${at}`).toBeLessThanOrEqual(MAX_LEVEL_DIFF);
      expect(destroyed.size, 'buffers destroyed before dispose()').toBe(0);
      view.dispose();
      expect(destroyed.has(created[0]), 'dispose() destroys the uniform buffer').toBe(true);
    } finally {
      spy.mockRestore();
      image.dispose();
      for (const t of textures) t.destroy();
    }
  });
});
