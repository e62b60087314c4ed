// The app end to end: the page served by Vite, Chromium (headless, WebGPU on SwiftShader) driven by
// Puppeteer. Every technique panel is opened BY ITS URL on TinyVGG (64x64, fast) and must reach
// data-state="done" with a real picture on its canvases; PNG download gives a valid PNG; the error
// states (a corrupt image, missing weights, a lost device, no WebGPU) each show their message and
// keep what was on screen. Screenshots of every panel go to results/screenshots/.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TECHNIQUES } from '../engine/techniques/index';
import { openPage, REPO_ROOT, pollPage, type PageSession } from './helpers/browser';
import { SMALL } from './helpers/panels';
import { viewCanvasStats } from './helpers/screen';

const SHOTS = join(REPO_ROOT, 'results', 'screenshots');
/** A picture is "real" when its luminance varies by more than this (0..255 scale). */
const MIN_PICTURE_STD = 4;
const APP = "document.querySelector('cnn-app')";
const PANEL = `${APP}.shadowRoot?.querySelector('cnn-technique-panel')`;

let session: PageSession | null = null;
let downloads = '';

function page(): PageSession {
  if (!session) throw new Error('app test: the page did not open (see the beforeAll error)');
  return session;
}

/** Poll `predicate` in the page (console errors are expected in the error-state tests). */
const until = (s: PageSession, predicate: string, what: string, timeoutMs = 60_000) => pollPage(s, 'app test', predicate, what, { timeoutMs });

async function shot(s: PageSession, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await s.page.screenshot({ path: join(SHOTS, `${name}.png`) as `${string}.png`, fullPage: true });
}

const canvasStats = (s: PageSession) => viewCanvasStats(s.page, PANEL);

async function appText(s: PageSession, selector: string): Promise<string> {
  return (await s.page.evaluate(`${APP}.shadowRoot.querySelector(${JSON.stringify(selector)})?.textContent ?? ''`)) as string;
}

beforeAll(async () => {
  downloads = mkdtempSync(join(tmpdir(), 'cnnvis-downloads-'));
  session = await openPage('/?model=tinyvgg&image=koala_1', { downloads });
});

afterAll(async () => {
  await session?.close();
  session = null;
  rmSync(downloads, { recursive: true, force: true });
});

describe('app (Chromium, WebGPU on SwiftShader)', () => {
  it('loads the page and classifies the sample the URL names', async () => {
    const s = page();
    await until(s, `${APP}.dataset.state === 'done'`, 'classifying koala_1');
    const top = await s.page.$eval('cnn-app >>> cnn-predictions >>> [part="top-label"]', (el) => el.textContent?.trim());
    expect(top).toBe('koala');
    expect(await appText(s, '.meta')).toMatch(/input 3 × 64 × 64 · [\d.]+ k parameters/);
    const groups = await s.page.$$eval('cnn-app >>> cnn-nav >>> h2', (els) => els.map((e) => e.textContent));
    expect(groups).toEqual(['First layer', 'Last layer', 'Activations', 'Gradients', 'Optimization', 'Gallery', 'Engine']);
    await shot(s, 'home');
  });

  it.each(TECHNIQUES.map((t) => [t.name]))('opens the %s panel by its URL, runs it, and shows its result', async (name) => {
    const s = page();
    const q = new URLSearchParams({ technique: name, model: 'tinyvgg', image: 'boat_1', ...(SMALL[name] ?? {}) });
    // As following a link, without reloading the page's modules and pipelines each time (the
    // next test opens one by a real page load).
    await s.page.evaluate(`(() => {
      window.__longestTask = 0;
      window.__observer ??= new PerformanceObserver((l) => l.getEntries().forEach((e) => (window.__longestTask = Math.max(window.__longestTask, e.duration))));
      window.__observer.observe({ type: 'longtask' });
    })()`);
    await s.page.evaluate(`window.cnnvis.open(${JSON.stringify(`?${q}`)})`);
    await until(s, `${PANEL}?.dataset.state === 'done' || ${PANEL}?.dataset.state === 'error'`, `the ${name} panel finishing`, 90_000);
    const state = await s.page.evaluate(`${PANEL}.dataset.state`);
    if (state !== 'done') throw new Error(`${name}: panel in state ${state}: ${await s.page.evaluate(`${PANEL}.shadowRoot.querySelector('[role=alert]')?.textContent`)}`);
    const stats = await canvasStats(s);
    const t = TECHNIQUES.find((x) => x.name === name)!;
    const texts = (await s.page.evaluate(`${PANEL}.shadowRoot.querySelectorAll('pre.text').length`)) as number;
    // A result is pictures, or a table (receptive fields), or only data (gallery features: the
    // .npy download and the summary's numbers, checked below).
    const npy = (await s.page.evaluate(`!!${PANEL}.shadowRoot.querySelector('button.npy')`)) as boolean;
    expect(stats.length > 0 || texts > 0 || npy, `${name}: views, text tables or a raw download`).toBe(true);
    for (const c of stats) {
      expect(c.width * c.height, `${name}: canvas size`).toBeGreaterThan(1);
      expect(c.alpha, `${name}: canvas is transparent`).toBeGreaterThan(0);
      expect(c.std, `${name}: canvas is uniform`).toBeGreaterThan(MIN_PICTURE_STD);
    }
    if (t.options.some((o) => o.kind === 'layer')) {
      // The layer picker shows each layer's shape and receptive field (TinyVGG's first conv: 3x3).
      const layers = await s.page.$$eval('cnn-app >>> cnn-technique-panel >>> cnn-option-control >>> select#opt-layer option', (els) => els.map((e) => e.textContent ?? ''));
      expect(layers.find((l) => l.startsWith('conv_1_1')), `${name}: layer picker`).toMatch(/^conv_1_1 \(conv, 10 × 62 × 62, sees 3×3 px\)$/);
    }
    const longest = (await s.page.evaluate('window.__longestTask ?? 0')) as number;
    console.log(`app test: ${name}: longest main-thread task ${longest.toFixed(0)} ms`);
    const summary = await s.page.$$eval('cnn-app >>> cnn-technique-panel >>> dl div', (els) => els.length);
    expect(summary, `${name}: summary numbers`).toBeGreaterThan(0);
    await shot(s, name);
  });

  it('a control change rewrites the URL, and the PNG download is a valid PNG of the view', async () => {
    const s = page();
    await s.page.goto(new URL('/?technique=saliency&model=tinyvgg&image=boat_1', s.url).href, { waitUntil: 'load' });
    await until(s, `${PANEL}?.dataset.state === 'done'`, 'saliency finishing');
    const flag = await s.page.evaluate(`(() => {
      const sel = [...${PANEL}.shadowRoot.querySelectorAll('cnn-option-control')].map((c) => c.shadowRoot.querySelector('select')).find((x) => x && x.options.length > 1 && x.id !== 'opt-layer');
      sel.selectedIndex = (sel.selectedIndex + 1) % sel.options.length;
      sel.dispatchEvent(new Event('change'));
      return sel.id.slice(4) + '=' + sel.value;
    })()`) as string;
    await until(s, `location.search.includes(${JSON.stringify(flag)})`, `the URL holding ${flag}`, 5_000);
    expect(await s.page.evaluate('location.search')).toContain('technique=saliency');

    const want = (await s.page.evaluate(`${PANEL}.shadowRoot.querySelector('cnn-view').view.image.width`)) as number;
    await s.page.click('cnn-app >>> cnn-technique-panel >>> cnn-view >>> button.png');
    const end = Date.now() + 10_000;
    let files: string[] = [];
    while (Date.now() < end && !(files = readdirSync(downloads).filter((f) => f.endsWith('.png'))).length) await new Promise((r) => setTimeout(r, 100));
    expect(files[0]).toMatch(/^boat_1\.saliency(\.\w+)?\.png$/);
    const bytes = readFileSync(join(downloads, files[0]));
    expect([...bytes.subarray(0, 8)]).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
    const png = PNG.sync.read(bytes);
    expect(png.width).toBe(want);
    await shot(s, 'saliency-changed-control');
  });

  it('a corrupt image shows what to do and keeps the picture and top-5 on screen', async () => {
    const s = page();
    await s.page.goto(new URL('/?model=tinyvgg&image=pizza_1', s.url).href, { waitUntil: 'load' });
    await until(s, `${APP}.dataset.state === 'done'`, 'classifying pizza_1');
    await s.page.evaluate(`window.cnnvis.open('?model=tinyvgg&image=/shared/README.md')`);
    await until(s, `${APP}.dataset.state === 'error'`, 'the corrupt-image error');
    expect(await appText(s, '[role=alert]')).toMatch(/Could not read the image: .*unknown image format.*Use a JPEG or PNG/);
    expect(await appText(s, 'figcaption')).toBe('pizza_1');
    expect(await s.page.$$eval('cnn-app >>> cnn-predictions >>> li', (els) => els.length)).toBe(5);
    await shot(s, 'error-corrupt-image');
  });

  it('missing weights name the model and the command that makes them', async () => {
    const s = page();
    await s.page.evaluate(`window.cnnvis.open('?model=nosuchmodel&image=boat_1')`);
    await until(s, `${APP}.dataset.state === 'error'`, 'the missing-weights error');
    const text = await appText(s, '.card.error');
    expect(text).toContain("No weights for model 'nosuchmodel' at /weights/nosuchmodel/");
    expect(text).toContain('npm run weights');
    await shot(s, 'error-missing-weights');
  });

  it('after a lost device the page creates a new one, reloads the model and runs again', async () => {
    const s = page();
    await s.page.evaluate(`window.cnnvis.open('?technique=saliency&model=tinyvgg&image=boat_1')`);
    await until(s, `${PANEL}?.dataset.state === 'done'`, 'saliency finishing');
    await s.page.evaluate('window.cnnvis.loseDevice()');
    await until(s, `${APP}.shadowRoot.querySelector('.notice')?.textContent.includes('a new one was created')`, 'the recovery notice');
    expect(await s.page.evaluate(`${APP}.dataset.state`)).toBe('done');
    expect((await canvasStats(s)).length, 'the result stays on screen').toBeGreaterThan(0);
    await s.page.evaluate(`${PANEL}.run()`);
    expect(await s.page.evaluate(`${PANEL}.dataset.state`)).toBe('done');
    await shot(s, 'device-lost-recovered');
  });

  it('a refused webcam says what to do, and the image stays', async () => {
    const s = page();
    await s.page.browserContext().overridePermissions(s.url, []); // every permission denied
    await s.page.click('cnn-app >>> cnn-image-picker >>> button.camera');
    await until(s, `${APP}.shadowRoot.querySelector('cnn-image-picker').shadowRoot.querySelector('.message')`, 'the camera message', 10_000);
    const text = await s.page.$eval('cnn-app >>> cnn-image-picker >>> .message', (el) => el.textContent ?? '');
    expect(text).toMatch(/Camera access was refused\. Allow the camera|No camera was found/);
    expect(await appText(s, 'figcaption')).toBe('boat_1');
    await shot(s, 'error-webcam');
  });

  it('without WebGPU the page says what to do', async () => {
    const s = await openPage('/?model=tinyvgg&image=boat_1', { webgpu: false });
    try {
      await until(s, `${APP}?.shadowRoot?.querySelector('.fatal')`, 'the no-WebGPU message', 30_000);
      expect(await appText(s, '.fatal')).toMatch(/WebGPU.*Chrome or Edge 113\+/);
      await shot(s, 'error-no-webgpu');
    } finally {
      await s.close();
    }
  });
});
