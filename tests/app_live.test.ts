// The app's live parts end to end (Chromium headless, WebGPU on SwiftShader, Puppeteer): the kernel
// inspector opened by its URL profiles a TinyVGG forward + backward pass and lists its dispatches
// with FLOPs, a roofline chart and highlighted WGSL; the live class visualization (the class-vis
// panel's live view, by its old class-vis-live URL) streams frames, takes a slider change mid-run,
// pauses, resumes and cancels, without a main-thread task over 100 ms; canvas=gpu where the
// browser cannot present a WebGPU canvas on SwiftShader falls back to read-back with the device
// intact; a technique switched to mid-run never shows the cancelled run's result; a device lost
// while a live run is paused ends it (the page recovers); a technique's chart (deletion /
// insertion curves) renders. Screenshots go to results/screenshots/. The GPU canvas path itself is tested in app_live_canvas.test.ts.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPage, REPO_ROOT, pollPage, type PageSession } from './helpers/browser';
import { expectNoLongTask, longest, TRACE_FLAGS, traced, type Task } from './helpers/longtasks';
import { pictureStd } from './helpers/screen';

const SHOTS = join(REPO_ROOT, 'results', 'screenshots');
/** A picture is "real" when its luminance varies by more than this (0..255 scale). */
const MIN_PICTURE_STD = 4;

const APP = "document.querySelector('cnn-app')";
const INSPECTOR = `${APP}.shadowRoot?.querySelector('cnn-inspector')`;
const PANEL = `${APP}.shadowRoot?.querySelector('cnn-technique-panel')`;
const LIVE = `${PANEL}?.shadowRoot.querySelector('cnn-live-run')`;

let session: PageSession | null = null;

function page(): PageSession {
  if (!session) throw new Error('app_live test: the page did not open (see the beforeAll error)');
  return session;
}

const until = (s: PageSession, predicate: string, what: string, timeoutMs = 60_000) => pollPage(s, 'app_live test', predicate, what, { timeoutMs });

async function shot(s: PageSession, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await s.page.screenshot({ path: join(SHOTS, `${name}.png`) as `${string}.png`, fullPage: true });
}


beforeAll(async () => {
  session = await openPage('/?technique=inspector&model=tinyvgg&image=boat_1', { flags: TRACE_FLAGS });
});

afterAll(async () => {
  await session?.close();
  session = null;
});

describe('app live (Chromium, WebGPU on SwiftShader)', () => {
  it('the kernel inspector, opened by its URL, lists the pass dispatches with FLOPs, a roofline and WGSL', async () => {
    const s = page();
    await until(s, `${INSPECTOR}?.dataset.state === 'done' || ${INSPECTOR}?.dataset.state === 'error'`, 'the inspector finishing', 90_000);
    const state = await s.page.evaluate(`${INSPECTOR}.dataset.state`);
    if (state !== 'done') throw new Error(`inspector in state ${state}: ${await s.page.evaluate(`${INSPECTOR}.shadowRoot.querySelector('[role=alert]')?.textContent`)}`);
    const rows = (await s.page.$$eval('cnn-app >>> cnn-inspector >>> tbody tr', (els) => els.map((e) => [...e.querySelectorAll('td')].map((td) => td.textContent?.trim() ?? '')))) as string[][];
    expect(rows.length, 'dispatches of a TinyVGG forward + backward').toBeGreaterThan(10);
    // The forward conv's family: conv2d, or on the direct path with subgroups (SwiftShader has them) conv2d_direct_subgroup.
    const conv = rows.find((r) => r[2] === 'conv2d' || r[2] === 'conv2d_direct_subgroup');
    expect(conv, 'a conv2d dispatch').toBeDefined();
    expect(conv![7], 'its FLOPs').toMatch(/^[\d.]+ [kMG]$/);
    expect(conv![1], 'its layer').toMatch(/^conv_/);
    expect(await s.page.evaluate(`${INSPECTOR}.shadowRoot.querySelector('.note').textContent`)).toMatch(/Timing: (timestamp-query|wall-time)/);
    await until(s, `${INSPECTOR}.shadowRoot.querySelector('cnn-chart')?.dataset.state === 'done'`, 'the roofline chart', 15_000);
    expect(await s.page.$$eval('cnn-app >>> cnn-inspector >>> pre.wgsl .tok-keyword', (els) => els.length), 'highlighted WGSL').toBeGreaterThan(5);
    // Clicking a layer highlights exactly its dispatches.
    await s.page.click('cnn-app >>> cnn-inspector >>> button.layer');
    const layer = await s.page.$eval('cnn-app >>> cnn-inspector >>> button.layer[aria-pressed="true"]', (e) => (e as HTMLElement).dataset.layer ?? '');
    const marked = (await s.page.$$eval('cnn-app >>> cnn-inspector >>> tbody tr.in-layer', (els) => els.map((e) => e.querySelectorAll('td')[1].textContent))) as string[];
    expect(marked.length).toBeGreaterThan(0);
    expect(new Set(marked)).toEqual(new Set([layer]));
    expect(marked.length).toBe(rows.filter((r) => r[1] === layer).length);
    console.log(`app_live: inspector: ${rows.length} dispatches`);
    await shot(s, 'inspector');
  });

  it('the live class visualization (its old URL) streams frames, takes a slider mid-run, pauses, resumes and cancels', async () => {
    const s = page();
    // class-vis-live is now the class-vis panel itself, which streams like every iterative technique's.
    await s.page.evaluate(`void window.cnnvis.open('?technique=class-vis-live&model=tinyvgg&image=boat_1&steps=2000&lr=20')`);
    await until(s, `${LIVE}?.dataset.state === 'running' && Number(${LIVE}.dataset.frames) >= 5`, 'five live frames', 60_000);
    expect(await s.page.evaluate(`${PANEL}.technique.name`)).toBe('class-vis');
    // From here the loop runs steadily: the start of a run (pipelines built on first use) is not measured.
    const tasks: Task[] = [];
    tasks.push(...await traced(s, async () => {
      // A live setting changes the running loop at its next step (lr 20 -> 10: the loop's lr halves).
      const before = (await s.page.evaluate(`${LIVE}.settings.lr`)) as number;
      const at = Number(await s.page.evaluate(`${LIVE}.dataset.frames`));
      await s.page.evaluate(`(() => {
        const c = [...${PANEL}.shadowRoot.querySelectorAll('cnn-option-control')].find((x) => x.spec.name === 'lr');
        c.dispatchEvent(new CustomEvent('option-change', { detail: { name: 'lr', value: 10 }, bubbles: true, composed: true }));
      })()`);
      await until(s, `Number(${LIVE}.dataset.frames) >= ${at + 2}`, 'two frames after the change', 30_000);
      expect((await s.page.evaluate(`${LIVE}.settings.lr`)) as number / before).toBeCloseTo(0.5, 5);
      await until(s, `location.search.includes('lr=10')`, 'the URL holding lr', 5_000);
      await s.page.click('cnn-app >>> cnn-technique-panel >>> cnn-live-run >>> button.pause');
      await until(s, `${LIVE}.hasAttribute('data-held')`, 'the loop held by the pause', 10_000);
      const held = Number(await s.page.evaluate(`${LIVE}.dataset.frames`));
      await new Promise((r) => setTimeout(r, 1000));
      expect(Number(await s.page.evaluate(`${LIVE}.dataset.frames`)), 'no frames while paused').toBe(held);
      await s.page.click('cnn-app >>> cnn-technique-panel >>> cnn-live-run >>> button.pause');
      await until(s, `Number(${LIVE}.dataset.frames) >= ${held + 3}`, 'frames again after resuming', 30_000);
    }));
    // The test's own screenshots make the renderer draw frames on demand: not counted.
    expect(await pictureStd(s, 'cnn-app >>> cnn-technique-panel >>> cnn-live-run >>> canvas'), 'the live canvas holds a picture').toBeGreaterThan(MIN_PICTURE_STD);
    await until(s, `${LIVE}.shadowRoot.querySelector('cnn-chart')?.dataset.state === 'done'`, 'the objective plot', 10_000);
    const counter = (await s.page.evaluate(`${LIVE}.shadowRoot.querySelector('.counter').textContent`)) as string;
    expect(counter).toMatch(/[\d.]+\s*it\/s/);
    await shot(s, 'class-vis-live');
    tasks.push(...await traced(s, async () => {
      await s.page.click('cnn-app >>> cnn-technique-panel >>> button.cancel');
      await until(s, `${LIVE}.dataset.state === 'cancelled' && ${PANEL}.dataset.state !== 'running'`, 'cancelling', 10_000);
    }));
    const frames = Number(await s.page.evaluate(`${LIVE}.dataset.frames`));
    expect(frames).toBeGreaterThan(1);
    expect(frames, 'cancelled before the end').toBeLessThan(2000);
    expect(await s.page.evaluate(`${LIVE}.shadowRoot.querySelector('.actions .status')?.textContent`)).toMatch(/cancelled after \d+ iterations/);
    const l = longest(tasks);
    console.log(`app_live: class-vis live: ${frames} frames (${await s.page.evaluate(`${LIVE}.dataset.path`)} path), longest main-thread task ${l.cpu.toFixed(0)} ms CPU, ${l.wall.toFixed(0)} ms wall`);
    expectNoLongTask('the live run streaming, pausing, resuming and cancelling', tasks);
  });

  it('a technique switched to while a live run streams never shows the cancelled run\'s result', async () => {
    const s = page();
    await s.page.evaluate(`void window.cnnvis.open('?technique=class-vis&model=tinyvgg&image=boat_1&steps=2000')`);
    await until(s, `${LIVE}?.dataset.state === 'running' && Number(${LIVE}.dataset.frames) >= 3`, 'three live frames', 60_000);
    // Record whether the new panel ever holds a result that is not its own (class-vis's summary has pictureTop5).
    await s.page.evaluate(`(() => {
      window.__foreign = '';
      window.__watch = setInterval(() => {
        const p = ${PANEL};
        const summary = p?.result?.presentation.summary;
        if (p && p.technique.name !== 'class-vis' && summary && 'pictureTop5' in summary) window.__foreign = p.technique.name + ' showed ' + Object.keys(summary).slice(0, 4).join(', ');
      }, 2);
    })()`);
    await s.page.evaluate(`void window.cnnvis.open('?technique=saliency&model=tinyvgg&image=boat_1')`);
    await until(s, `${PANEL}.technique.name === 'saliency' && (${PANEL}.dataset.state === 'done' || ${PANEL}.dataset.state === 'error')`, 'the saliency run', 60_000);
    await s.page.evaluate('clearInterval(window.__watch)');
    expect(await s.page.evaluate(`${PANEL}.dataset.state`)).toBe('done');
    expect(await s.page.evaluate('window.__foreign'), 'the saliency panel held the cancelled class-vis run\'s result').toBe('');
  });

  it('canvas=gpu where presenting a WebGPU canvas loses the device: the live view reads back, says why, and the device survives', async () => {
    const s = page();
    // Default headless flags: the page's probe (ui/live_canvas.ts) lost its throwaway device before the
    // page made its own, so canvas sharing is known to fail here.
    await s.page.evaluate(`void window.cnnvis.open('?technique=neuron-vis&model=tinyvgg&image=boat_1&steps=6&canvas=gpu')`);
    await until(s, `${PANEL}?.dataset.state === 'done' || ${PANEL}?.dataset.state === 'error'`, 'the neuron-vis run', 60_000);
    expect(await s.page.evaluate(`${PANEL}.dataset.state`)).toBe('done');
    expect(await s.page.evaluate(`${LIVE}.dataset.path`)).toBe('readback');
    expect(Number(await s.page.evaluate(`${LIVE}.dataset.readbacks`)), 'every frame read back').toBe(6);
    expect(await s.page.evaluate(`${LIVE}.shadowRoot.querySelector('figcaption').textContent`)).toMatch(/loses the device.*canvas=gpu was asked for and refused/);
    expect(await s.page.evaluate(`location.search`), 'the URL keeps the canvas choice').toContain('canvas=gpu');
    // No device was lost: no notice, and the page still classifies.
    expect(await s.page.evaluate(`${APP}.shadowRoot.querySelector('.notice')?.textContent ?? ''`)).not.toMatch(/lost/);
    const top = (await s.page.evaluate(`window.cnnvis.classifyUrl('/shared/models/tinyvgg/samples/koala_1.jpeg', 'tinyvgg')`)) as { label: string }[];
    expect(top[0].label).toBe('koala');
  });

  it('the faithfulness panel draws its deletion / insertion curves as a chart', async () => {
    const s = page();
    await s.page.evaluate(`void window.cnnvis.open('?technique=faithfulness&model=tinyvgg&image=boat_1&faith-steps=8&batch=8')`);
    await until(s, `${PANEL}?.dataset.state === 'done' || ${PANEL}?.dataset.state === 'error'`, 'faithfulness finishing', 90_000);
    expect(await s.page.evaluate(`${PANEL}.dataset.state`)).toBe('done');
    await until(s, `${PANEL}.shadowRoot.querySelector('cnn-chart')?.dataset.state === 'done'`, 'the curves chart', 10_000);
    const legend = (await s.page.$$eval('cnn-app >>> cnn-technique-panel >>> cnn-chart >>> .u-legend .u-label', (els) => els.map((e) => e.textContent ?? ''))) as string[];
    expect(legend.some((l) => /^deletion \(AUC [\d.]+\)$/.test(l)), `legend ${legend.join(', ')}`).toBe(true);
    expect(await pictureStd(s, 'cnn-app >>> cnn-technique-panel >>> cnn-chart'), 'the chart is drawn').toBeGreaterThan(MIN_PICTURE_STD);
    await shot(s, 'faithfulness-chart');
  });

  // Last: it loses the page's device (the page recovers a new one).
  it('a device lost while a live run is paused ends the run with the reason, and the page recovers', async () => {
    const s = page();
    await s.page.evaluate(`void window.cnnvis.open('?technique=class-vis&model=tinyvgg&image=boat_1&steps=2000')`);
    await until(s, `${LIVE}?.dataset.state === 'running' && Number(${LIVE}.dataset.frames) >= 3`, 'three live frames', 60_000);
    await s.page.click('cnn-app >>> cnn-technique-panel >>> cnn-live-run >>> button.pause');
    await until(s, `${LIVE}.hasAttribute('data-held')`, 'the loop held by the pause', 10_000);
    await s.page.evaluate('window.cnnvis.loseDevice()');
    // The held run must not keep the model (the page's recovery classifies on it again).
    await until(s, `${PANEL}.dataset.state === 'error'`, 'the held run ending with its device', 20_000);
    expect(await s.page.evaluate(`${PANEL}.shadowRoot.querySelector('[role=alert]')?.textContent`)).toMatch(/device lost .*during the live run/);
    expect(await s.page.evaluate(`${LIVE}.dataset.state`)).toBe('error');
    await until(s, `/a new one was created/.test(${APP}.shadowRoot.querySelector('.notice')?.textContent ?? '')`, 'the page recovering a device', 60_000);
  });
});
