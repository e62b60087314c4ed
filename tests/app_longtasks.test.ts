// The issue's bound, end to end: no main-thread task over 100 ms while a technique runs. Every
// technique panel of the registry is opened by its URL (Chromium headless, WebGPU on SwiftShader,
// one page reused, TinyVGG at the small settings of tests/helpers/panels.ts), and so are one panel in
// a new document of the built app as `npm start` serves it (vite build + vite preview: bundle
// evaluation, model load, shaders, image decoding, classification and run; the dev server's
// hundreds of unbundled modules are not what users load) and the kernel inspector (an app-only
// panel). Each run, from the moment it starts until data-state = done, is traced (the
// DevTools protocol's tracing: every task the page's main thread ran, with its wall time and its
// thread CPU time); a table of every panel's longest task is printed, and the test fails naming
// each panel over the bound.
//
// What is asserted is the task's main-thread CPU time: on this 2-core machine SwiftShader (the GPU
// process's threads) and the other processes preempt the page's main thread, so a task's wall time
// (what PerformanceObserver 'longtask' reports) also counts the time it stood waiting for a core;
// the table shows both, and the longest wall-time task of each run is checked too when the thread
// was not preempted (wall and CPU time within PREEMPTED_MS of each other).
//
// The page runs with TRACE_FLAGS (tests/helpers/longtasks.ts): without them V8 reparses the whole
// bundle on the main thread when the tracer first asks for source positions, a cost of the
// measurement itself.
//
// CNNVIS_LONGTASK_PROFILE=1 also records a CPU profile of each run (the Profiler domain) and
// prints the functions with the most self time, to find what a long task runs.

import { cpus, loadavg } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CDPSession } from 'puppeteer-core';
import { TECHNIQUES } from '../engine/techniques/index';
import { openPage, pollPage, startBuiltServer, type PageSession } from './helpers/browser';
import { expectNoLongTask, longest, MAX_TASK_MS, TRACE_FLAGS, traced, type Task } from './helpers/longtasks';
import { SMALL } from './helpers/panels';

/** Each panel's run on SwiftShader at the small settings of tests/helpers/panels.ts takes seconds; this is its ceiling. */
const RUN_TIMEOUT_MS = 120_000;
const PROFILE = !!process.env.CNNVIS_LONGTASK_PROFILE;

const APP = "document.querySelector('cnn-app')";
const PANEL = `${APP}.shadowRoot?.querySelector('cnn-technique-panel')`;
const INSPECTOR = `${APP}.shadowRoot?.querySelector('cnn-inspector')`;

interface Row { panel: string; wallMs: number; cpuMs: number; tasks: number; runMs: number; state: string; hot: string }

let session: PageSession | null = null;
const rows: Row[] = [];

function page(): PageSession {
  if (!session) throw new Error('app_longtasks test: the page did not open (see the beforeAll error)');
  return session;
}

const until = (s: PageSession, predicate: string, what: string, timeoutMs: number) => pollPage(s, 'app_longtasks test', predicate, what, { timeoutMs });

/** Check a run's tasks against the bound and add its row to the table. */
function record(panel: string, tasks: Task[], runMs: number, state: string, hot: string): void {
  const l = longest(tasks);
  rows.push({ panel, wallMs: l.wall, cpuMs: l.cpu, tasks: tasks.filter((t) => t.wall > 50).length, runMs, state, hot });
  expectNoLongTask(panel, tasks);
}

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

/** The functions with the most self time in a CPU profile, "name (file:line) ms". */
function hottest(p: CpuProfile, count = 10): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    if (['(idle)', '(program)', '(garbage collector)', '(root)'].includes(f.functionName)) return;
    const key = `${f.functionName || '(anonymous)'} (${f.url.split('/').pop()?.split('?')[0]}:${f.lineNumber + 1})`;
    self.set(key, (self.get(key) ?? 0) + (p.timeDeltas[i + 1] ?? 0) / 1000);
  });
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, count).map(([k, ms]) => `${k} ${ms.toFixed(0)} ms`).join('; ');
}

/** With CNNVIS_LONGTASK_PROFILE: a CPU profile of the page starts (null otherwise). */
async function startProfile(s: PageSession): Promise<CDPSession | null> {
  if (!PROFILE) return null;
  const cdp = await s.page.createCDPSession();
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  return cdp;
}

async function stopProfile(cdp: CDPSession | null): Promise<string> {
  if (!cdp) return '';
  const { profile } = (await cdp.send('Profiler.stop')) as unknown as { profile: CpuProfile };
  await cdp.detach();
  return hottest(profile);
}

beforeAll(async () => {
  session = await openPage('/?model=tinyvgg&image=boat_1', { flags: TRACE_FLAGS });
  await until(session, `${APP}?.dataset.state === 'done'`, 'classifying boat_1', 60_000);
}, 180_000);

afterAll(async () => {
  const width = Math.max(...rows.map((r) => r.panel.length), 5);
  const num = (v: number, w: number) => v.toFixed(0).padStart(w);
  const lines = rows.map((r) => `${r.panel.padEnd(width)}  ${num(r.cpuMs, 7)}  ${num(r.wallMs, 8)}  ${String(r.tasks).padStart(10)}  ${(r.runMs / 1000).toFixed(1).padStart(5)}  ${r.state}${r.hot ? `  ${r.hot}` : ''}`);
  console.log(`app_longtasks: longest main-thread task per panel (bound ${MAX_TASK_MS} ms; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores)\n` +
    `${'panel'.padEnd(width)}  cpu ms  wall ms  wall>50ms  run s  state\n${lines.join('\n')}`);
  await session?.close();
  session = null;
});

describe('app long tasks (Chromium, WebGPU on SwiftShader)', () => {
  it(`a page opened at a technique's link (new document: model load, shaders, classify, run) has no task over ${MAX_TASK_MS} ms`, async () => {
    // The built app (npm start's), in a new tab of the same browser: the dev server's unbundled
    // modules are not what users load. The trace holds every renderer's main thread, so the dev
    // page waits on about:blank meanwhile (its idle-time work, e.g. the chart preload, would
    // count), and comes back for the other tests after.
    const dev = page();
    const devUrl = dev.page.url();
    const built = await startBuiltServer();
    await dev.page.goto('about:blank');
    const tab = await dev.page.browser().newPage();
    const s: PageSession = { ...dev, url: built.url, page: tab };
    try {
      const cdp = await startProfile(s);
      const t0 = Date.now();
      let state = '';
      const tasks = await traced(s, async () => {
        await tab.goto(new URL('./?technique=saliency&model=tinyvgg&image=boat_1', built.url).href, { waitUntil: 'load' });
        await until(s, `${PANEL}?.dataset.state === 'done' || ${PANEL}?.dataset.state === 'error'`, 'the saliency panel of a new document finishing', RUN_TIMEOUT_MS);
        state = (await tab.evaluate(`${PANEL}.dataset.state`)) as string;
      });
      const runMs = Date.now() - t0;
      const hot = await stopProfile(cdp);
      expect(state).toBe('done');
      record('saliency (new document, built app)', tasks, runMs, state, hot);
      // Every shader came from the reflection made ahead of time: no WGSL was parsed in the page.
      const stats = (await tab.evaluate('window.cnnvis.shaderStats()')) as { parsed: number; pregenerated: number };
      expect(stats.pregenerated, 'shader modules reflected from the generated table').toBeGreaterThan(5);
      expect(stats.parsed, 'shader modules parsed in the page (wgsl_reflect)').toBe(0);
    } finally {
      await tab.close();
      await built.close();
      await dev.page.goto(devUrl, { waitUntil: 'load' });
      await until(dev, `${APP}?.dataset.state === 'done'`, 'the dev page classifying boat_1 again', 60_000);
    }
  });

  it.each(TECHNIQUES.map((t) => [t.name]))(`the %s panel runs without a main-thread task over ${MAX_TASK_MS} ms`, async (name) => {
    const s = page();
    const q = new URLSearchParams({ technique: name, model: 'tinyvgg', image: 'boat_1', ...(SMALL[name] ?? {}) });
    const cdp = await startProfile(s);
    const t0 = Date.now();
    let state = '';
    const tasks = await traced(s, async () => {
      // As following a link: the run starts here and ends at data-state = done.
      await s.page.evaluate(`void window.cnnvis.open(${JSON.stringify(`?${q}`)})`);
      await until(s, `${PANEL}?.dataset.state === 'done' || ${PANEL}?.dataset.state === 'error'`, `the ${name} panel finishing`, RUN_TIMEOUT_MS);
      state = (await s.page.evaluate(`${PANEL}.dataset.state`)) as string;
    });
    const runMs = Date.now() - t0;
    const hot = await stopProfile(cdp);
    if (state !== 'done') throw new Error(`${name}: panel in state ${state}: ${await s.page.evaluate(`${PANEL}.shadowRoot.querySelector('[role=alert]')?.textContent`)}`);
    record(name, tasks, runMs, state, hot);
  });

  it(`the kernel inspector (an app-only panel: a profiled forward + backward, its table, roofline and WGSL) has no task over ${MAX_TASK_MS} ms`, async () => {
    const s = page();
    const cdp = await startProfile(s);
    const t0 = Date.now();
    let state = '';
    const tasks = await traced(s, async () => {
      await s.page.evaluate(`void window.cnnvis.open('?technique=inspector&model=tinyvgg&image=boat_1')`);
      await until(s, `${INSPECTOR}?.dataset.state === 'done' || ${INSPECTOR}?.dataset.state === 'error'`, 'the inspector finishing', RUN_TIMEOUT_MS);
      state = (await s.page.evaluate(`${INSPECTOR}.dataset.state`)) as string;
    });
    const runMs = Date.now() - t0;
    const hot = await stopProfile(cdp);
    expect(state).toBe('done');
    record('inspector', tasks, runMs, state, hot);
  });
});
