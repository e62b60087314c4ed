// Every iterative technique's panel streams its run (ui/cnn-live-run.ts inside
// <cnn-technique-panel>), end to end in Chromium headless on SwiftShader, on TinyVGG (64 x 64):
// opened by its URL, it draws more than one frame, takes a slider change mid-run (paused, the
// live option moved, resumed: the loop's own settings object carries the new value from the next
// step on), can be cancelled (the live view says so and the panel stops), and a short run reaches
// done with a real picture on the live canvas and in the result's views.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPage, pollPage, type PageSession } from './helpers/browser';
import { pictureStd, viewCanvasStats } from './helpers/screen';

/** A picture is "real" when its luminance varies by more than this (0..255 scale). */
const MIN_PICTURE_STD = 4;
/** The loop's lr after the slider change, relative to before (the live option is divided by 4; every technique maps it linearly). */
const LR_RATIO = 0.25;
const RATIO_TOL = 1e-4;

const APP = "document.querySelector('cnn-app')";
const PANEL = `${APP}.shadowRoot?.querySelector('cnn-technique-panel')`;
const LIVE = `${PANEL}?.shadowRoot.querySelector('cnn-live-run')`;
const STYLE_IMAGE = '/shared/models/tinyvgg/samples/pizza_1.jpeg';

interface Case {
  name: string;
  technique: string;
  /** URL flags of the long run that is paused, changed and cancelled, and of the short one that finishes. */
  long: Record<string, string>;
  short: Record<string, string>;
  /** The live option moved mid-run (its loop setting is `lr`), from the long run's value to a quarter of it. */
  option: string;
}

const CASES: Case[] = [
  { name: 'class-vis', technique: 'class-vis', long: { steps: '2000', lr: '20' }, short: { steps: '12' }, option: 'lr' },
  { name: 'neuron-vis (pixel)', technique: 'neuron-vis', long: { steps: '2000', lr: '20' }, short: { steps: '12' }, option: 'lr' },
  { name: 'neuron-vis (fourier)', technique: 'neuron-vis', long: { param: 'fourier', steps: '2000', lr: '0.04' }, short: { param: 'fourier', steps: '12' }, option: 'lr' },
  // PGD with a step too small to fool in time: the run goes on until cancelled.
  { name: 'fool (pgd)', technique: 'fool', long: { method: 'pgd', eps: '0.05', alpha: '0.01', steps: '2000' }, short: { steps: '20' }, option: 'alpha' },
  { name: 'deepdream', technique: 'deepdream', long: { octaves: '1', steps: '2000', lr: '2' }, short: { octaves: '2', steps: '4' }, option: 'lr' },
  { name: 'invert', technique: 'invert', long: { steps: '2000', lr: '4' }, short: { steps: '10' }, option: 'lr' },
  { name: 'texture', technique: 'texture', long: { steps: '2000', lr: '4' }, short: { steps: '10' }, option: 'lr' },
  { name: 'style', technique: 'style', long: { steps: '2000', lr: '4', 'style-image': STYLE_IMAGE }, short: { steps: '10', 'style-image': STYLE_IMAGE }, option: 'lr' },
];

let session: PageSession | null = null;

function page(): PageSession {
  if (!session) throw new Error('app_live_iterative test: the page did not open (see the beforeAll error)');
  return session;
}

const until = (s: PageSession, predicate: string, what: string, timeoutMs = 60_000) => pollPage(s, 'app_live_iterative test', predicate, what, { timeoutMs, every: 50, state: `{ panel: ${PANEL}?.dataset.state, live: ${LIVE}?.dataset, alert: ${PANEL}?.shadowRoot.querySelector('[role=alert]')?.textContent }` });

const frames = async (s: PageSession) => Number(await s.page.evaluate(`${LIVE}.dataset.frames`));

/** Luminance standard deviation of each result view's canvas (its own pixels). */
const viewStds = async (s: PageSession) => (await viewCanvasStats(s.page, PANEL)).map((c) => c.std);

function open(s: PageSession, technique: string, flags: Record<string, string>): Promise<unknown> {
  const q = new URLSearchParams({ technique, model: 'tinyvgg', image: 'boat_1', ...flags });
  return s.page.evaluate(`void window.cnnvis.open(${JSON.stringify(`?${q}`)})`);
}

beforeAll(async () => {
  session = await openPage('/?model=tinyvgg&image=boat_1');
  await until(session, `${APP}.dataset.state === 'done'`, 'the first classification', 90_000);
});

afterAll(async () => {
  await session?.close();
  session = null;
});

describe('live iterative panels (Chromium, WebGPU on SwiftShader)', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s streams, takes a slider mid-run, cancels, and finishes with a picture', async (_name, c) => {
    const s = page();
    await open(s, c.technique, c.long);
    await until(s, `${LIVE}?.dataset.state === 'running' && Number(${LIVE}.dataset.frames) >= 3`, `${c.name}: three live frames`, 90_000);
    // Pause, move the live option to a quarter of its value, resume.
    await s.page.click('cnn-app >>> cnn-technique-panel >>> cnn-live-run >>> button.pause');
    await until(s, `${LIVE}.hasAttribute('data-held')`, `${c.name}: the loop held by the pause`, 30_000);
    const held = await frames(s);
    const before = (await s.page.evaluate(`${LIVE}.settings.lr`)) as number;
    const value = Number(c.long[c.option]) * LR_RATIO;
    await s.page.evaluate(`(() => {
      const ctl = [...${PANEL}.shadowRoot.querySelectorAll('cnn-option-control')].find((x) => x.spec.name === ${JSON.stringify(c.option)});
      ctl.dispatchEvent(new CustomEvent('option-change', { detail: { name: ${JSON.stringify(c.option)}, value: ${value} }, bubbles: true, composed: true }));
    })()`);
    await new Promise((r) => setTimeout(r, 500));
    expect(await frames(s), `${c.name}: no frames while paused`).toBe(held);
    await s.page.click('cnn-app >>> cnn-technique-panel >>> cnn-live-run >>> button.pause');
    await until(s, `Number(${LIVE}.dataset.frames) >= ${held + 2}`, `${c.name}: frames after resuming`, 30_000);
    const after = (await s.page.evaluate(`${LIVE}.settings.lr`)) as number;
    expect(Math.abs(after / before - LR_RATIO), `${c.name}: the loop's lr ${before} -> ${after} after ${c.option} ${c.long[c.option]} -> ${value}`).toBeLessThan(RATIO_TOL);
    const counter = (await s.page.evaluate(`${LIVE}.shadowRoot.querySelector('.counter').textContent`)) as string;
    expect(counter).toMatch(/[\d.]+\s*it\/s/);
    expect(Number(counter.match(/([\d.]+)\s*it\/s/)![1]), `${c.name}: iterations per second`).toBeGreaterThan(0);
    await s.page.click('cnn-app >>> cnn-technique-panel >>> button.cancel');
    await until(s, `${LIVE}.dataset.state === 'cancelled' && ${PANEL}.dataset.state !== 'running'`, `${c.name}: cancelling`, 30_000);
    const streamed = await frames(s);
    expect(streamed, `${c.name}: frames streamed`).toBeGreaterThan(1);
    expect(streamed, `${c.name}: cancelled before the end`).toBeLessThan(2000);

    // A short run to the end: a real picture on the live canvas and in every result view.
    await open(s, c.technique, c.short);
    await until(s, `${PANEL}?.dataset.state === 'done' && ${LIVE}?.dataset.state === 'done' || ${PANEL}?.dataset.state === 'error'`, `${c.name}: the short run finishing`, 120_000);
    if ((await s.page.evaluate(`${PANEL}.dataset.state`)) !== 'done') throw new Error(`${c.name}: ${await s.page.evaluate(`${PANEL}.shadowRoot.querySelector('[role=alert]')?.textContent`)}`);
    expect(await frames(s), `${c.name}: frames of the short run`).toBeGreaterThan(1);
    expect(await pictureStd(s, 'cnn-app >>> cnn-technique-panel >>> cnn-live-run >>> canvas'), `${c.name}: the live canvas holds a picture`).toBeGreaterThan(MIN_PICTURE_STD);
    const stds = await viewStds(s);
    expect(stds.length, `${c.name}: result views`).toBeGreaterThan(0);
    for (const v of stds) expect(v, `${c.name}: a result view is uniform`).toBeGreaterThan(MIN_PICTURE_STD);
    console.log(`app_live_iterative: ${c.name}: ${streamed} frames streamed before cancel, lr ${before.toPrecision(4)} -> ${after.toPrecision(4)}, path ${await s.page.evaluate(`${LIVE}.dataset.path`)}, ${counter.replace(/\s+/g, ' ').trim()}`);
  });
});
