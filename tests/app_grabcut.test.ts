// GrabCut in the app, end to end in Chromium (headless, WebGPU on SwiftShader): OpenCV.js (7.6 MB,
// engine/techniques/opencv.ts) is a file of its own, fetched (by the page's GrabCut worker) only when
// the grabcut panel runs: never by the main bundle, never by another panel; on the dev server (what
// tests/helpers/browser.ts serves) and in the built site (`vite build` + `vite preview`, as
// `npm start` serves dist/).

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { afterAll, describe, expect, it } from 'vitest';
import { TECHNIQUES } from '../engine/techniques/index';
import { openPage, REPO_ROOT, startBuiltServer, waitInPage, type PageSession } from './helpers/browser';
import { viewCanvasStats } from './helpers/screen';

/** The OpenCV.js file as the dev server (…/dist/opencv.js) or the build (assets/opencv-<hash>.js) names it. */
const OPENCV_FILE = /\/opencv(-[\w-]+)?\.js$/;
/** The package file is 7.6 MB; its emitted copy must be that file, not a stub. */
const MIN_OPENCV_BYTES = 5e6;
/** The main bundle is well under this; OpenCV inlined would put it far above. */
const MAX_MAIN_BUNDLE_BYTES = 3e6;
/** A picture is "real" when its luminance varies by more than this (0..255 scale), as in app.test.ts. */
const MIN_PICTURE_STD = 4;
const GRABCUT_URL = '/?technique=grabcut&model=tinyvgg&image=koala_1';
const HOME_URL = '/?model=tinyvgg&image=koala_1';
/** A page without the app (a sample picture), opened first so the app's own load is watched from its first request. */
const LIGHT_URL = '/shared/models/tinyvgg/samples/koala_1.jpeg';
/**
 * Other panels opened in the page and run to the end without fetching OpenCV: a few quick ones on
 * TinyVGG (running every panel would not fit this file's time; that no panel but grabcut imports the
 * loader is asserted for all of them by the module check below).
 */
const OTHERS: Record<string, Record<string, string>> = {
  filters: {},
  saliency: {},
  gradcam: {},
};

const APP = "document.querySelector('cnn-app')";
const PANEL = `${APP}.shadowRoot?.querySelector('cnn-technique-panel')`;
const PANEL_FINISHED = `['done', 'error'].includes(${PANEL}?.dataset.state)`;

const canvasStats = (page: Page) => viewCanvasStats(page, PANEL);

/** Every request of the page for the OpenCV file, with the status it was answered with (0 = none yet). */
function watchOpenCv(page: Page): { url: string; status: number; bytes: number }[] {
  const seen: { url: string; status: number; bytes: number }[] = [];
  page.on('request', (r) => {
    if (OPENCV_FILE.test(new URL(r.url()).pathname)) seen.push({ url: r.url(), status: 0, bytes: 0 });
  });
  page.on('response', (r) => {
    const hit = seen.find((x) => x.url === r.url() && x.status === 0);
    if (!hit) return;
    hit.status = r.status();
    // Headers only: the body may be chunked, so its length is read when it has finished.
    void r.buffer().then((b) => (hit.bytes = b.length), () => undefined);
  });
  return seen;
}

/** The OpenCV files among the page's resource timing entries (everything it fetched since loading). */
async function fetchedOpenCv(page: Page): Promise<string[]> {
  const names = (await page.evaluate("performance.getEntriesByType('resource').map((e) => e.name)")) as string[];
  return names.filter((n) => OPENCV_FILE.test(new URL(n).pathname));
}

/** Open `search` in the page as a link would, wait for its panel, and fail with the panel's alert on error. */
async function runPanel(s: PageSession, search: string, what: string): Promise<void> {
  await s.page.evaluate(`window.cnnvis.open(${JSON.stringify(search)})`);
  await waitInPage(s, PANEL_FINISHED, `the ${what} panel finishing`, 60_000);
  await expectPanelDone(s.page, what);
}

async function expectPanelDone(page: Page, what: string): Promise<void> {
  const state = await page.evaluate(`${PANEL}.dataset.state`);
  if (state !== 'done') throw new Error(`${what}: panel in state ${state}: ${await page.evaluate(`${PANEL}.shadowRoot.querySelector('[role=alert]')?.textContent`)}`);
}

/** The grabcut panel's three views (cut-out, mask, seeds) are real pictures. */
async function expectGrabcutPictures(page: Page): Promise<void> {
  const stats = await canvasStats(page);
  expect(stats.length, 'grabcut: views on the panel').toBe(3);
  for (const [i, c] of stats.entries()) {
    expect(c.width * c.height, `grabcut view ${i}: canvas size`).toBeGreaterThan(1);
    expect(c.std, `grabcut view ${i}: canvas is uniform`).toBeGreaterThan(MIN_PICTURE_STD);
  }
  const fraction = Number(await page.evaluate(`${PANEL}.shadowRoot.querySelector('cnn-view').view.meaning.match(/\\((\\d+)%/)?.[1]`));
  expect(fraction, 'grabcut: foreground fraction (a cut, not all or nothing)').toBeGreaterThan(0);
  expect(fraction).toBeLessThan(100);
}

let session: PageSession | null = null;

afterAll(async () => {
  await session?.close();
  session = null;
});

describe('grabcut in the app (dev server)', () => {
  it('no module but grabcut.ts and its worker import the OpenCV loader, and nothing imports the package', () => {
    const importers: string[] = [];
    for (const dir of ['engine', 'ui']) {
      for (const f of readdirSync(join(REPO_ROOT, dir), { recursive: true, encoding: 'utf8' })) {
        if (!f.endsWith('.ts')) continue;
        const text = readFileSync(join(REPO_ROOT, dir, f), 'utf8');
        if (/from\s+'[./]*(techniques\/)?opencv'|import\(\s*'[./]*(techniques\/)?opencv'/.test(text)) importers.push(`${dir}/${f}`);
        if (/from\s+'@techstark\/opencv-js'|import\(\s*'@techstark/.test(text)) importers.push(`${dir}/${f} (the package)`);
      }
    }
    // grabcut_cut.ts (the cv calls, shared by both) imports its types only.
    expect(importers.sort()).toEqual(['engine/techniques/grabcut.ts', 'engine/techniques/grabcut_cut.ts', 'engine/techniques/grabcut_worker.ts']);
    expect(Object.keys(OTHERS).every((n) => TECHNIQUES.some((t) => t.name === n)), 'OTHERS names registered techniques').toBe(true);
  });

  it('the page and the other panels run without fetching opencv.js', async () => {
    session = await openPage(LIGHT_URL);
    const s = session;
    const opencv = watchOpenCv(s.page);
    await s.page.goto(new URL(HOME_URL, s.url).href, { waitUntil: 'load' });
    await waitInPage(s, `${APP}.dataset.state === 'done'`, 'classifying koala_1');
    for (const [name, flags] of Object.entries(OTHERS)) {
      await runPanel(s, `?${new URLSearchParams({ technique: name, model: 'tinyvgg', image: 'koala_1', ...flags })}`, name);
    }
    expect(opencv.map((r) => r.url), 'requests for opencv.js before the grabcut panel').toEqual([]);
    expect(await fetchedOpenCv(s.page)).toEqual([]);
    expect(await s.page.evaluate('typeof window.cv')).toBe('undefined');

    // The grabcut panel, opened in the same page: now, and only now, OpenCV is fetched, once.
    await runPanel(s, GRABCUT_URL.slice(1), 'grabcut');
    await expectGrabcutPictures(s.page);
    expect(opencv.map((r) => new URL(r.url).pathname)).toEqual(['/node_modules/@techstark/opencv-js/dist/opencv.js']);
    expect(opencv[0].status).toBe(200);
  });

  it(`${GRABCUT_URL} loaded directly reaches done with a real picture`, async () => {
    const s = session ?? (session = await openPage(LIGHT_URL));
    const opencv = watchOpenCv(s.page);
    await s.page.goto(new URL(GRABCUT_URL, s.url).href, { waitUntil: 'load' });
    await waitInPage(s, `${PANEL}?.dataset.state === 'done'`, 'the grabcut panel finishing', 60_000);
    await expectGrabcutPictures(s.page);
    expect(opencv.length).toBe(1);
    const until = Date.now() + 10_000;
    while (opencv[0].bytes === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(opencv[0].bytes, 'the opencv.js the dev server answered').toBeGreaterThan(MIN_OPENCV_BYTES);
  });
});

describe('grabcut in the built site (vite build + vite preview)', () => {
  let built: Awaited<ReturnType<typeof startBuiltServer>> | null = null;
  afterAll(async () => {
    await built?.close();
  });

  it('emits OpenCV as its own asset, outside the main bundle, fetched only when grabcut runs', async () => {
    built = await startBuiltServer();
    const { outDir, url: base } = built;
    const assets = readdirSync(join(outDir, 'assets'));
    const cvFiles = assets.filter((f) => OPENCV_FILE.test(`/${f}`));
    expect(cvFiles, `opencv asset among ${assets.join(', ')}`).toHaveLength(1);
    expect(statSync(join(outDir, 'assets', cvFiles[0])).size).toBeGreaterThan(MIN_OPENCV_BYTES);
    const html = readFileSync(join(outDir, 'index.html'), 'utf8');
    const main = html.match(/src="\.\/assets\/(index-[\w-]+\.js)"/)?.[1];
    expect(main, 'the main bundle named by index.html').toBeDefined();
    expect(html).not.toContain('opencv');
    // The entry (index-*.js) loads the app as a chunk of its own (ui/main.ts): the two are the main bundle.
    const entry = readFileSync(join(outDir, 'assets', main!), 'utf8');
    const app = entry.match(/import\(`\.\/(app_main-[\w-]+\.js)`\)/)?.[1];
    expect(app, 'the app chunk the entry imports').toBeDefined();
    const bundle = entry + readFileSync(join(outDir, 'assets', app!), 'utf8');
    expect(bundle.length).toBeLessThan(MAX_MAIN_BUNDLE_BYTES);
    expect(bundle, 'the main bundle names the asset (for the <script> it adds)').toContain(cvFiles[0]);

    // A second tab of the dev server's Chromium.
    const dev = session ?? (session = await openPage(LIGHT_URL));
    const page = await dev.page.browser().newPage();
    try {
      const s: PageSession = { url: base, page, pageErrors: [], close: async () => undefined };
      page.on('pageerror', (e) => s.pageErrors.push(e instanceof Error ? e.message : String(e)));
      const opencv = watchOpenCv(page);
      await page.goto(new URL(HOME_URL, base).href, { waitUntil: 'load' });
      await waitInPage(s, `${APP}.dataset.state === 'done'`, 'classifying koala_1 (built site)');
      expect(opencv, 'requests for opencv before the grabcut panel (built site)').toEqual([]);
      await runPanel(s, GRABCUT_URL.slice(1), 'grabcut (built site)');
      await expectGrabcutPictures(page);
      expect(opencv.map((r) => new URL(r.url).pathname)).toEqual([`/assets/${cvFiles[0]}`]);
      expect(opencv[0].status).toBe(200);
    } finally {
      await page.close();
    }
  });
});
