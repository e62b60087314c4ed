// End-to-end harness: the page's Vite dev server started in-process on 127.0.0.1 (a free port),
// and Debian's Chromium driven by puppeteer-core with WebGPU on SwiftShader and a fresh profile.
// `openPage()` returns a session whose close() tears down the browser, the profile and the server;
// a failure half-way through cleans up what was already started. `startBuiltServer()` builds the
// app as `npm start` serves it (vite build, then vite preview) for tests of what users load.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { build, createServer, preview, type PreviewServer, type ViteDevServer } from 'vite';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

export const CHROMIUM_FLAGS = [
  '--headless=new',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-webgpu-adapter=swiftshader',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface PageSession {
  url: string;
  page: Page;
  /** Console errors and uncaught exceptions from the page, for failure messages. */
  pageErrors: string[];
  close(): Promise<void>;
}

/** The page's dev server (vite.config.ts, with the /shared/ and /weights/ routes) on a free port. */
export async function startDevServer(): Promise<{ server: ViteDevServer; url: string }> {
  const server = await createServer({
    root: REPO_ROOT,
    configFile: join(REPO_ROOT, 'vite.config.ts'),
    logLevel: 'error',
    clearScreen: false,
    server: { host: '127.0.0.1', port: 0, strictPort: true, hmr: false, watch: null },
  });
  try {
    await server.listen();
    const addr = server.httpServer?.address();
    if (!addr || typeof addr === 'string') throw new Error('browser harness: the dev server has no TCP address');
    return { server, url: `http://127.0.0.1:${addr.port}/` };
  } catch (e) {
    await server.close();
    throw e;
  }
}

/**
 * The production app, as `npm start` serves it: `vite build` into a temporary folder (`outDir`,
 * for tests of the emitted files), then `vite preview` of it (with the /shared/ and /weights/
 * routes) on a free port. close() stops the server and removes the build.
 */
export async function startBuiltServer(): Promise<{ url: string; outDir: string; close(): Promise<void> }> {
  const outDir = mkdtempSync(join(tmpdir(), 'cnnvis-dist-'));
  let server: PreviewServer | null = null;
  const close = async () => {
    try {
      await server?.close();
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  };
  try {
    const config = { root: REPO_ROOT, configFile: join(REPO_ROOT, 'vite.config.ts'), logLevel: 'error' as const, clearScreen: false };
    await build({ ...config, build: { outDir, emptyOutDir: true } });
    server = await preview({ ...config, build: { outDir }, preview: { host: '127.0.0.1', port: 0, strictPort: true } });
    const addr = server.httpServer.address();
    if (!addr || typeof addr === 'string') throw new Error('browser harness: the preview server has no TCP address');
    return { url: `http://127.0.0.1:${addr.port}/`, outDir, close };
  } catch (e) {
    await close();
    throw e;
  }
}

export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`browser test: Chromium not found at ${CHROMIUM}. Install it with \`bash scripts/setup.sh\` ` +
      '(apt-get install -y chromium libvulkan1) or set CHROMIUM_PATH.');
  }
}

export interface OpenOptions {
  /** false: launch Chromium with WebGPU disabled (the page's no-WebGPU state). Default true. */
  webgpu?: boolean;
  /** Folder where downloads land (Chromium's download behaviour is set to allow them there). */
  downloads?: string;
  /** Extra Chromium flags, after the defaults (e.g. a fake camera, --use-angle=swiftshader). */
  flags?: readonly string[];
}

/** Chromium's flags: WebGPU on SwiftShader, or WebGPU switched off. */
function chromiumFlags(webgpu: boolean): string[] {
  if (webgpu) return CHROMIUM_FLAGS;
  return [...CHROMIUM_FLAGS.filter((f) => !/webgpu|Vulkan/i.test(f)), '--disable-webgpu', '--disable-features=WebGPU,Vulkan'];
}

/** Start the server and Chromium, and load `path` (e.g. '/'). */
export async function openPage(path = '/', options: OpenOptions = {}): Promise<PageSession> {
  requireChromium();
  const cleanups: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch {
        // Keep tearing down the rest; the test's own failure is the one worth reporting.
      }
    }
  };
  try {
    const { server, url } = await startDevServer();
    cleanups.push(() => server.close());
    const profile = mkdtempSync(join(tmpdir(), 'cnnvis-chromium-'));
    cleanups.push(() => rmSync(profile, { recursive: true, force: true }));
    const browser: Browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: false, // '--headless=new' is passed explicitly below
      args: [...chromiumFlags(options.webgpu ?? true), ...(options.flags ?? []), `--user-data-dir=${profile}`],
      defaultViewport: { width: 1366, height: 900 },
      env: { ...process.env, VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? '/usr/lib/chromium/vk_swiftshader_icd.json' },
    });
    cleanups.push(() => browser.close());
    const page = await browser.newPage();
    if (options.downloads) {
      const cdp = await page.createCDPSession();
      await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: options.downloads });
    }
    const pageErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    page.on('pageerror', (e) => pageErrors.push(e instanceof Error ? e.message : String(e)));
    const full = new URL(path, url).href;
    const res = await page.goto(full, { waitUntil: 'load' });
    if (!res || !res.ok()) throw new Error(`browser test: GET ${full} answered ${res?.status() ?? 'nothing'}`);
    return { url, page, pageErrors, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Wait until `predicate` holds in the page; fail early, with the page's errors, if it reports new ones. */
export async function waitInPage(s: PageSession, predicate: string, what: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  const before = s.pageErrors.length;
  for (;;) {
    if (await s.page.evaluate(predicate)) return;
    const errors = s.pageErrors.slice(before);
    if (errors.length > 0 || Date.now() > until) {
      throw new Error(`browser test: ${what} did not happen${errors.length ? `; the page reported:\n  ${errors.join('\n  ')}` : ` within ${timeoutMs} ms`}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface PollOptions {
  timeoutMs?: number;
  /** Milliseconds between polls. */
  every?: number;
  /** A JS expression evaluated in the page on timeout, JSON-stringified into the error (the page's state). */
  state?: string;
}

/**
 * Poll `predicate` in the page until it holds. Unlike waitInPage, console errors do not stop it
 * (the error-state tests expect them); on timeout the error says `${label}: ${what}`, the page's
 * state when asked, and the page's last errors.
 */
export async function pollPage(s: PageSession, label: string, predicate: string, what: string, o: PollOptions = {}): Promise<void> {
  const timeoutMs = o.timeoutMs ?? 60_000;
  const end = Date.now() + timeoutMs;
  while (!(await s.page.evaluate(predicate))) {
    if (Date.now() > end) {
      const state = o.state ? ` (${await s.page.evaluate(`JSON.stringify(${o.state})`)})` : '';
      throw new Error(`${label}: ${what} did not happen within ${timeoutMs} ms${state}; page errors:\n  ${s.pageErrors.slice(-5).join('\n  ')}`);
    }
    await new Promise((r) => setTimeout(r, o.every ?? 100));
  }
}
