// End to end in a real browser: the page served by Vite, Chromium (headless, WebGPU on SwiftShader)
// driven by Puppeteer. The page must print the true class of a sample image, and its top-5 must
// equal the Node engine's (Dawn) for the same image: same indices, probabilities within 1e-4.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, loadModel, type Prediction } from '../engine/index';
import { openPage, REPO_ROOT, waitInPage, type PageSession } from './helpers/browser';
import { EXACT, expectClose, type Tolerance } from './helpers/close';
import { gpu } from './helpers/gpu';
import { randomArray } from './helpers/random';
import { reluForward } from './reference/relu';

const SHARED = join(REPO_ROOT, process.env.CNNVIS_SHARED ?? '../shared');
const SAMPLE = 'n02391049_zebra.JPEG';
const WEIGHTS = join(REPO_ROOT, 'weights', 'squeezenet1_1');
/** Chromium's WebGPU and Dawn in Node run the same WGSL on the same SwiftShader. */
const BROWSER_VS_NODE: Tolerance = { atol: 1e-4, rtol: 0 };

/** The sample's true class name from imagenet-samples.tsv. */
function trueClass(file: string): string {
  const row = readFileSync(join(SHARED, 'images', 'imagenet-samples.tsv'), 'utf8').split('\n').find((r) => r.startsWith(`${file}\t`));
  if (!row) throw new Error(`browser test: ${file} is not in imagenet-samples.tsv`);
  return row.split('\t')[3];
}

/** The Node engine's top-5 for the same file (same decoder, same preprocessing, Dawn). */
async function nodeTop5(file: string): Promise<Prediction[]> {
  const rt = await gpu();
  const model = await loadModel(rt, WEIGHTS);
  const img = await decodeImage(readFileSync(file), file);
  const x = model.preprocess(img.rgba, img.width, img.height);
  try {
    return (await model.classify(x, 5))[0];
  } finally {
    x.dispose();
    model.dispose();
  }
}

let session: PageSession | null = null;

function page(): PageSession {
  if (!session) throw new Error('browser test: the page did not open (see the beforeAll error)');
  return session;
}

beforeAll(async () => {
  if (!existsSync(join(WEIGHTS, 'weights.safetensors'))) throw new Error(`browser test: ${WEIGHTS} has no converted weights: run \`npm run weights\``);
  if (!existsSync(join(SHARED, 'images', 'imagenet-samples', SAMPLE))) throw new Error(`browser test: no ${SAMPLE} under ${SHARED} (set CNNVIS_SHARED)`);
  session = await openPage('/');
  await waitInPage(session, "'cnnvis' in window", 'the page exposing window.cnnvis');
});

afterAll(async () => {
  await session?.close();
  session = null;
});

describe('browser (Chromium, WebGPU on SwiftShader)', () => {
  it('runs an engine kernel on navigator.gpu and matches the CPU reference', async () => {
    const x = Array.from(randomArray(2 * 3 * 5 * 7, 21));
    // A string, so Vitest leaves its import()s alone: the modules are served and transformed by
    // the Vite dev server, exactly as the page loads them.
    const got = (await page().page.evaluate(`(async () => {
      const { Runtime } = await import('/engine/runtime.ts');
      const { Tensor } = await import('/engine/tensor.ts');
      const { relu } = await import('/engine/ops/relu.ts');
      // The page's own start presents one frame of a throwaway device on a CPU adapter first
      // (ui/live_canvas.ts), which in Chromium without --use-angle=swiftshader resets every
      // device; an adapter asked for meanwhile comes back null. Wait for that probe, as the page does.
      await (await import('/ui/live_canvas.ts')).probeCanvasSharing();
      const rt = await Runtime.create();
      const t = Tensor.fromData(rt, new Float32Array(${JSON.stringify(x)}), [2, 3, 5, 7], 'x');
      const y = relu(t);
      const out = Array.from(await y.read());
      const kind = rt.kind;
      y.dispose();
      t.dispose();
      rt.destroy();
      return { out, kind };
    })()`)) as { out: number[]; kind: string };
    expect(got.kind).toBe('cpu'); // SwiftShader is a software adapter
    expectClose(got.out, reluForward(x), EXACT, [2, 3, 5, 7], 'browser relu');
  });

  it('prints the true class of a sample image, with the same top-5 as the Node engine', async () => {
    const s = page();
    const url = `/shared/images/imagenet-samples/${SAMPLE}`;
    const top = (await s.page.evaluate(`window.cnnvis.classifyUrl(${JSON.stringify(url)}, 'squeezenet1_1')`)) as Prediction[];
    expect(await s.page.$eval('cnn-app', (el) => (el as HTMLElement).dataset.state)).toBe('done');
    const printed = await s.page.$eval('cnn-app >>> cnn-predictions >>> [part="top-label"]', (el) => el.textContent?.trim());
    expect(printed).toBe(trueClass(SAMPLE));
    const rows = await s.page.$$eval('cnn-app >>> cnn-predictions >>> li', (els) => els.map((el) => Number((el as HTMLElement).dataset.index)));
    expect(rows).toEqual(top.map((p) => p.index));

    const want = await nodeTop5(join(SHARED, 'images', 'imagenet-samples', SAMPLE));
    expect(top.map((p) => p.index)).toEqual(want.map((p) => p.index));
    expect(top.map((p) => p.label)).toEqual(want.map((p) => p.label));
    expectClose(top.map((p) => p.prob), want.map((p) => p.prob), BROWSER_VS_NODE, undefined, 'browser vs node top-5 probabilities');
  });

  it('switches to tinyvgg and classifies the sample thumbnail the user clicks', async () => {
    const s = page();
    const picked = await s.page.$eval('cnn-app >>> select#model', (el) => {
      const select = el as HTMLSelectElement;
      select.value = 'tinyvgg';
      select.dispatchEvent(new Event('change'));
      return select.value;
    });
    expect(picked).toBe('tinyvgg');
    // The zebra on screen is not a tinyvgg sample: the page moves to tinyvgg's first sample.
    await waitInPage(s, "document.querySelector('cnn-app').dataset.state === 'done'", 'tinyvgg classifying its first sample');
    await s.page.click('cnn-app >>> cnn-image-picker >>> button.thumb[data-url$="/koala_1.jpeg"]');
    await waitInPage(s, `(() => {
      const app = document.querySelector('cnn-app');
      return app.dataset.state === 'done' && app.shadowRoot.querySelector('figcaption').textContent === 'koala_1';
    })()`, 'the koala being classified');
    const printed = await s.page.$eval('cnn-app >>> cnn-predictions >>> [part="top-label"]', (el) => el.textContent?.trim());
    expect(printed).toBe('koala');
  });

  it('decodes JPEG in a worker, pixel for pixel as Node and the page\'s own thread do; a corrupt one names the file', async () => {
    const s = page();
    const node = await decodeImage(readFileSync(join(SHARED, 'images', 'imagenet-samples', SAMPLE)), SAMPLE);
    const r = (await s.page.evaluate(`(async () => {
      const m = await import('/engine/io/decode.ts');
      const bytes = new Uint8Array(await (await fetch('/shared/images/imagenet-samples/${SAMPLE}')).arrayBuffer());
      const before = { ...m.decodeStats };
      const [a, b] = await Promise.all([m.decodeImage(bytes, 'a.jpg'), m.decodeImage(bytes, 'b.jpg')]);
      const c = await m.decodeImage(bytes, 'c.jpg', { worker: false });
      const after = { ...m.decodeStats };
      const bad = bytes.slice(0, 600);
      bad.fill(7, 300);
      const err = await m.decodeImage(bad, 'broken.jpg').then(() => 'resolved', (e) => e.message);
      const sum = (d) => { let h = 0; for (let i = 0; i < d.rgba.length; i++) h = (h * 31 + d.rgba[i]) >>> 0; return h; };
      return { size: [a.width, a.height], sums: [sum(a), sum(b), sum(c)], same: a.rgba.every((v, i) => v === c.rgba[i]) && b.rgba.every((v, i) => v === c.rgba[i]),
        worker: after.worker - before.worker, thread: after.thread - before.thread, err, bytesKept: bytes.length };
    })()`)) as { size: number[]; sums: number[]; same: boolean; worker: number; thread: number; err: string; bytesKept: number };
    let h = 0;
    for (let i = 0; i < node.rgba.length; i++) h = (h * 31 + node.rgba[i]) >>> 0;
    expect(r.size).toEqual([node.width, node.height]);
    expect(r.same).toBe(true);
    expect(r.sums).toEqual([h, h, h]);
    expect(r.worker, 'JPEGs decoded in the worker').toBe(2);
    expect(r.thread, 'JPEGs decoded on the main thread').toBe(1);
    expect(r.err).toMatch(/^broken\.jpg: corrupt JPEG data \(.+\)$/);
    expect(r.bytesKept, 'the caller\'s bytes after the transfer to the worker').toBeGreaterThan(1000);
  });

  it('shows an error state, naming the URL, when the image cannot be fetched', async () => {
    const s = page();
    const url = '/shared/images/imagenet-samples/no-such-image.JPEG';
    const err = await s.page.evaluate(`window.cnnvis.classifyUrl(${JSON.stringify(url)}).then(() => 'resolved', (e) => e.message)`);
    expect(err).toBe(`${url}: HTTP 404`);
    expect(await s.page.$eval('cnn-app', (el) => (el as HTMLElement).dataset.state)).toBe('error');
    expect(await s.page.$eval('cnn-app >>> [role="alert"]', (el) => el.textContent)).toContain('HTTP 404');
  });
});
