// The live views' GPU canvas path end to end (ui/live_canvas.ts). Headless Chromium on SwiftShader
// presents a WebGPU canvas only when its compositor runs on ANGLE over SwiftShader
// (--use-angle=swiftshader); with the default flags the first presented frame drops Dawn's wire
// instance and every device of the page with it (app_live.test.ts checks that the page refuses the
// GPU path there and keeps its device). With the flag, the page's probe passes, a live run draws
// every iteration from the GPU: frames appear on screen, nothing image-sized is mapped back to the
// CPU while it streams (mapAsync calls counted by size in the page), no device is lost, and the
// picture on screen is exactly the read-back path's. A panel closed mid-run leaves the next run's
// GPU path working; a device lost while the GPU path presents turns the page's live views to read-back.

import type { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPage, pollPage, type PageSession } from './helpers/browser';
import { elementShot, luminanceStd, pictureStd } from './helpers/screen';

/** A picture is "real" when its luminance varies by more than this (0..255 scale). */
const MIN_PICTURE_STD = 4;
/** Bytes of one TinyVGG frame as RGBA8 (64 x 64 x 4; tensorToImage packs on the GPU): a frame's read-back maps at least this; the objective maps 256. */
const IMAGE_BYTES = 64 * 64 * 4;
/** The two paths draw the same tensor (one rounds in the shader, one in tensor_to_image.wgsl): mean |difference| on screen, 8-bit levels. */
const MAX_PATH_DIFF = 1;
/** Frames 8 and 16+ of a class visualization differ on screen by more than this (mean |change|, 8-bit levels): the canvas keeps presenting. */
const MIN_FRAME_CHANGE = 1;

const APP = "document.querySelector('cnn-app')";
const PANEL = `${APP}.shadowRoot?.querySelector('cnn-technique-panel')`;
const LIVE = `${PANEL}?.shadowRoot.querySelector('cnn-live-run')`;

let session: PageSession | null = null;

function page(): PageSession {
  if (!session) throw new Error('app_live_canvas test: the page did not open (see the beforeAll error)');
  return session;
}

const until = (s: PageSession, predicate: string, what: string, timeoutMs = 60_000) => pollPage(s, 'app_live_canvas test', predicate, what, { timeoutMs, every: 50 });

/** Mean |a - b| over the RGB channels of two pictures of one size, 8-bit levels. */
function meanDifference(a: PNG, b: PNG): number {
  let d = 0;
  for (let i = 0; i < a.data.length; i++) if (i % 4 !== 3) d += Math.abs(a.data[i] - b.data[i]);
  return d / ((a.data.length / 4) * 3);
}

/** Count, from now on, the page's mapAsync calls that map at least IMAGE_BYTES (frame read-backs). */
function countImageMaps(s: PageSession): Promise<unknown> {
  return s.page.evaluate(`(() => {
    window.__imageMaps = 0;
    window.__maps = 0;
    if (window.__mapWrapped) return;
    window.__mapWrapped = true;
    const map = GPUBuffer.prototype.mapAsync;
    GPUBuffer.prototype.mapAsync = function (mode, offset, size) {
      window.__maps++;
      if ((size ?? this.size - (offset ?? 0)) >= ${IMAGE_BYTES}) window.__imageMaps++;
      return map.call(this, mode, offset, size);
    };
  })()`);
}

beforeAll(async () => {
  session = await openPage('/?model=tinyvgg&image=boat_1', { flags: ['--use-angle=swiftshader'] });
  await until(session, `${APP}.dataset.state === 'done'`, 'the first classification', 90_000);
});

afterAll(async () => {
  await session?.close();
  session = null;
});

describe('live canvas, GPU path (Chromium --use-angle=swiftshader, WebGPU on SwiftShader)', () => {
  it('draws every iteration from the GPU: frames on screen, no frame read back, no device lost', async () => {
    const s = page();
    await countImageMaps(s);
    await s.page.evaluate(`void window.cnnvis.open('?technique=class-vis&model=tinyvgg&image=boat_1&steps=2000')`);
    await until(s, `${LIVE}?.dataset.state === 'running' && Number(${LIVE}.dataset.frames) >= 8`, 'eight live frames', 60_000);
    expect(await s.page.evaluate(`${LIVE}.dataset.path`)).toBe('gpu');
    expect(await s.page.evaluate(`${LIVE}.shadowRoot.querySelector('figcaption').textContent`)).toMatch(/drawn from the GPU/);
    const first = await elementShot(s, 'cnn-app >>> cnn-technique-panel >>> cnn-live-run >>> canvas', 0);
    await until(s, `Number(${LIVE}.dataset.frames) >= 16`, 'sixteen live frames', 60_000);
    const frames = Number(await s.page.evaluate(`${LIVE}.dataset.frames`));
    const maps = (await s.page.evaluate('window.__maps')) as number;
    expect(Number(await s.page.evaluate(`${LIVE}.dataset.readbacks`)), 'frames read back by the live view').toBe(0);
    expect(await s.page.evaluate('window.__imageMaps'), `image-sized mapAsync calls over ${frames} frames (${maps} small ones: the objective)`).toBe(0);
    expect(maps, 'the objective is still read every step').toBeGreaterThanOrEqual(frames - 1);
    // What the compositor shows is the optimized image, and it changes as the loop runs.
    const last = await elementShot(s, 'cnn-app >>> cnn-technique-panel >>> cnn-live-run >>> canvas', 0);
    const later = luminanceStd(last);
    expect(later, 'the GPU-drawn canvas holds a picture').toBeGreaterThan(MIN_PICTURE_STD);
    expect(meanDifference(first, last), 'mean |change| on screen between frame 8 and frame 16 and later, 8-bit levels').toBeGreaterThan(MIN_FRAME_CHANGE);
    await s.page.click('cnn-app >>> cnn-technique-panel >>> button.cancel');
    await until(s, `${LIVE}.dataset.state === 'cancelled' && ${PANEL}.dataset.state !== 'running'`, 'cancelling', 15_000);
    expect(await s.page.evaluate(`${APP}.shadowRoot.querySelector('.notice')?.textContent ?? ''`), 'no device-lost notice').not.toMatch(/lost/);
    const top = (await s.page.evaluate(`window.cnnvis.classifyUrl('/shared/models/tinyvgg/samples/koala_1.jpeg', 'tinyvgg')`)) as { label: string }[];
    expect(top[0].label, 'the device still computes').toBe('koala');
    console.log(`app_live_canvas: gpu path: ${frames} frames, 0 read back, ${maps} small mapAsync calls, picture std ${luminanceStd(first).toFixed(1)} -> ${later.toFixed(1)}, changed by ${meanDifference(first, last).toFixed(1)} levels`);
  });

  it('canvas=readback on the same browser reads every frame back, and shows the same picture as the GPU path', async () => {
    const s = page();
    const CANVAS = 'cnn-app >>> cnn-technique-panel >>> cnn-live-run >>> canvas';
    const run = async (choice: string) => {
      await countImageMaps(s);
      await s.page.evaluate(`window.cnnvis.open('?technique=class-vis&model=tinyvgg&image=boat_1&steps=6&canvas=${choice}')`); // resolves once the run is over
      await until(s, `${PANEL}?.dataset.state === 'done' && ${LIVE}?.dataset.state === 'done'`, `the ${choice} run`, 60_000);
      expect(await s.page.evaluate(`${LIVE}.dataset.path`)).toBe(choice);
      return { png: await elementShot(s, CANVAS), readbacks: Number(await s.page.evaluate(`${LIVE}.dataset.readbacks`)), maps: (await s.page.evaluate('window.__imageMaps')) as number };
    };
    const gpu = await run('gpu');
    const rb = await run('readback');
    expect(gpu.readbacks).toBe(0);
    expect(rb.readbacks).toBe(6);
    expect(rb.maps, 'image-sized mapAsync calls: the 6 frames (and the result)').toBeGreaterThanOrEqual(6);
    expect(gpu.maps, 'image-sized mapAsync calls of the GPU run: only the result (read once at the end)').toBeLessThan(6);
    // The same seed and steps give the same image: both paths must show it alike on screen.
    expect([rb.png.width, rb.png.height]).toEqual([gpu.png.width, gpu.png.height]);
    const meanDiff = meanDifference(gpu.png, rb.png);
    console.log(`app_live_canvas: GPU vs read-back picture: mean |difference| ${meanDiff.toFixed(2)} levels`);
    expect(meanDiff, 'mean |GPU - read-back| on screen, 8-bit levels').toBeLessThan(MAX_PATH_DIFF);
    expect(await pictureStd(s, CANVAS)).toBeGreaterThan(MIN_PICTURE_STD);
  });

  it('a panel closed while the GPU path presents: the next live run presents again on the same device', async () => {
    const s = page();
    await s.page.evaluate(`void window.cnnvis.open('?technique=class-vis&model=tinyvgg&image=boat_1&steps=2000')`);
    await until(s, `${LIVE}?.dataset.state === 'running' && ${LIVE}.dataset.path === 'gpu' && Number(${LIVE}.dataset.frames) >= 3`, 'three GPU-path frames', 60_000);
    // Saliency's panel has no live view: the running one is cancelled and its canvas leaves the page.
    await s.page.evaluate(`window.cnnvis.open('?technique=saliency&model=tinyvgg&image=boat_1')`);
    expect(await s.page.evaluate(`${PANEL}.dataset.state`)).toBe('done');
    expect(await s.page.evaluate(`${LIVE} ?? null`), 'no live view on the saliency panel').toBeNull();
    await s.page.evaluate(`void window.cnnvis.open('?technique=class-vis&model=tinyvgg&image=boat_1&steps=2000')`);
    await until(s, `${LIVE}?.dataset.state === 'running' && Number(${LIVE}.dataset.frames) >= 3`, 'three frames of the next run', 60_000);
    expect(await s.page.evaluate(`${LIVE}.dataset.path`)).toBe('gpu');
    expect(await pictureStd(s, 'cnn-app >>> cnn-technique-panel >>> cnn-live-run >>> canvas')).toBeGreaterThan(MIN_PICTURE_STD);
    await s.page.click('cnn-app >>> cnn-technique-panel >>> button.cancel');
    await until(s, `${PANEL}.dataset.state !== 'running'`, 'cancelling', 15_000);
    expect(await s.page.evaluate(`${APP}.shadowRoot.querySelector('.notice')?.textContent ?? ''`), 'no device-lost notice').not.toMatch(/lost/);
  });

  it('a device lost while the GPU path presents: the page recovers and its live views read back from then on', async () => {
    const s = page();
    await s.page.evaluate(`void window.cnnvis.open('?technique=class-vis&model=tinyvgg&image=boat_1&steps=2000')`);
    await until(s, `${LIVE}?.dataset.state === 'running' && ${LIVE}.dataset.path === 'gpu' && Number(${LIVE}.dataset.frames) >= 3`, 'three GPU-path frames', 60_000);
    await s.page.evaluate('window.cnnvis.loseDevice()');
    await until(s, `${PANEL}.dataset.state !== 'running'`, 'the run ending with its device', 30_000);
    await until(s, `/a new one was created/.test(${APP}.shadowRoot.querySelector('.notice')?.textContent ?? '')`, 'the page recovering a device', 60_000);
    await s.page.evaluate(`window.cnnvis.open('?technique=class-vis&model=tinyvgg&image=boat_1&steps=6')`); // resolves once the run is over
    expect(await s.page.evaluate(`${PANEL}.dataset.state`)).toBe('done');
    expect(await s.page.evaluate(`${LIVE}.dataset.path`)).toBe('readback');
    expect(await s.page.evaluate(`${LIVE}.shadowRoot.querySelector('figcaption').textContent`)).toMatch(/lost while a WebGPU canvas was presenting/);
    expect(await pictureStd(s, 'cnn-app >>> cnn-technique-panel >>> cnn-live-run >>> canvas')).toBeGreaterThan(MIN_PICTURE_STD);
  });
});
