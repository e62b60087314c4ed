// Node side of `npm run bench:browser`: a Vite server for the benchmark page on 127.0.0.1 (its
// own config: the page and its TF.js imports are bundled only here, never into the app), and
// headless Chromium through puppeteer-core, by default Debian's /usr/bin/chromium with WebGPU on
// SwiftShader (tests/helpers/browser.ts's flags); --browser / --browser-flags choose another.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { createServer } from 'vite';
import { cnnvisData } from '../../serve';
import { CHROMIUM, CHROMIUM_FLAGS, REPO_ROOT } from '../../../tests/helpers/browser';

/** The flags that pick the WebGPU adapter; --browser-flags replaces these. */
export const WEBGPU_FLAGS = CHROMIUM_FLAGS.filter((f) => /webgpu|Vulkan/i.test(f));
const BASE_FLAGS = CHROMIUM_FLAGS.filter((f) => !WEBGPU_FLAGS.includes(f));
export const PAGE_PATH = 'scripts/bench/browser/index.html';

export interface BrowserOptions {
  /** Chromium (or Chrome) executable; default /usr/bin/chromium (or $CHROMIUM_PATH). */
  executable?: string;
  /** Replace the WebGPU flags (default: SwiftShader's). */
  webgpuFlags?: string[];
}

export interface BenchPage {
  page: Page;
  browserVersion: string;
  flags: string[];
  pageErrors: string[];
  close(): Promise<void>;
}

export async function openBenchPage(o: BrowserOptions = {}): Promise<BenchPage> {
  const cleanups: (() => unknown)[] = [];
  const close = async () => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch {
        // Keep tearing down the rest.
      }
    }
  };
  try {
    const server = await createServer({
      root: REPO_ROOT,
      configFile: false,
      // Its own dependency cache: the app's dev server (tests, npm run dev) optimizes other deps into node_modules/.vite.
      cacheDir: join(REPO_ROOT, 'node_modules/.vite-bench-browser'),
      logLevel: 'error',
      clearScreen: false,
      plugins: [cnnvisData()],
      resolve: { alias: { webgpu: join(REPO_ROOT, 'scripts/bench/browser/webgpu_stub.ts') } },
      optimizeDeps: { entries: [PAGE_PATH], include: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-core/dist/register_all_gradients', '@tensorflow/tfjs-backend-webgpu'] },
      server: { host: '127.0.0.1', port: 0, strictPort: true, hmr: false, watch: null, fs: { allow: ['..'] } },
    });
    cleanups.push(() => server.close());
    await server.listen();
    const addr = server.httpServer?.address();
    if (!addr || typeof addr === 'string') throw new Error('bench:browser: the Vite server has no TCP address');
    const profile = mkdtempSync(join(tmpdir(), 'cnnvis-bench-chromium-'));
    cleanups.push(() => rmSync(profile, { recursive: true, force: true }));
    const executable = o.executable ?? CHROMIUM;
    const flags = [...BASE_FLAGS, ...(o.webgpuFlags ?? WEBGPU_FLAGS)];
    let browser: Browser;
    try {
      browser = await puppeteer.launch({
        executablePath: executable,
        headless: false, // '--headless=new' is among the flags
        args: [...flags, `--user-data-dir=${profile}`],
        protocolTimeout: 6 * 3600_000,
        env: { ...process.env, VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? '/usr/lib/chromium/vk_swiftshader_icd.json' },
      });
    } catch (e) {
      throw new Error(`bench:browser: could not start ${executable} (--browser PATH to choose another): ${(e as Error).message.split('\n')[0]}`);
    }
    cleanups.push(() => browser.close());
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e instanceof Error ? e.message : String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    const url = `http://127.0.0.1:${addr.port}/${PAGE_PATH}`;
    const res = await page.goto(url, { waitUntil: 'load' });
    if (!res?.ok()) throw new Error(`bench:browser: GET ${url} answered ${res?.status() ?? 'nothing'}`);
    // Ready, or failed: a missing favicon's 404 is not a failure.
    const until = Date.now() + 300_000;
    while (!(await page.evaluate('window.cnnvisBenchReady === true'))) {
      const errors = pageErrors.filter((e) => !/status of 404/.test(e));
      if (errors.length || Date.now() > until) throw new Error(`bench:browser: the page did not load its script: ${errors.join('; ') || 'timed out'}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return { page, browserVersion: await browser.version(), flags, pageErrors, close };
  } catch (e) {
    await close();
    throw e;
  }
}
