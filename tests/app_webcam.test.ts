// The webcam mode end to end: Chromium headless with its fake camera (a generated test pattern,
// --use-fake-device-for-media-stream, permission granted by --use-fake-ui-for-media-stream), WebGPU
// on SwiftShader, TinyVGG. Each technique fast enough to follow a camera (ui/webcam_loop.ts
// WEBCAM_TECHNIQUES: saliency, Grad-CAM, guided backprop, activation maps) is opened by its URL,
// switched to the webcam, processes more than one camera frame (the panel's data-webcam-frames),
// shows real pictures, and stops cleanly: the camera track ends, no frame is processed after, the
// panel is idle again and runs its technique on the picked image as before. Stopped while the
// camera is still opening, the camera is closed as soon as it opens.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPage, pollPage, type PageSession } from './helpers/browser';
import { viewCanvasStats } from './helpers/screen';

/** Camera frames each technique must process before it is stopped. */
const MIN_FRAMES = 3;
/** A picture is "real" when its luminance varies by more than this (0..255 scale). */
const MIN_PICTURE_STD = 4;
const FAKE_CAMERA = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

const APP = "document.querySelector('cnn-app')";
const PANEL = `${APP}.shadowRoot?.querySelector('cnn-technique-panel')`;
const TECHNIQUES = ['saliency', 'gradcam', 'guided', 'activations'];

let session: PageSession | null = null;

function page(): PageSession {
  if (!session) throw new Error('app_webcam test: the page did not open (see the beforeAll error)');
  return session;
}

const until = (s: PageSession, predicate: string, what: string, timeoutMs = 60_000) => pollPage(s, 'app_webcam test', predicate, what, { timeoutMs, every: 50, state: `{ state: ${PANEL}?.dataset.state, frames: ${PANEL}?.dataset.webcamFrames, alert: ${PANEL}?.shadowRoot.querySelector('[role=alert]')?.textContent }` });

/** Luminance standard deviation of each result view's canvas (its own pixels). */
const viewStds = async (s: PageSession) => (await viewCanvasStats(s.page, PANEL)).map((c) => c.std);

/** A fingerprint of the result views' pixels, as a page expression (it changes when the pictures change). */
const VIEW_PRINT = `[...${PANEL}.shadowRoot.querySelectorAll('cnn-view')].map((v) => {
  const c = v.shadowRoot.querySelector('canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let h = 0;
  for (let i = 0; i < d.length; i++) h = (h * 31 + d[i]) >>> 0;
  return c.width + 'x' + c.height + ':' + h;
}).join(',')`;

const viewPrint = (s: PageSession) => s.page.evaluate(VIEW_PRINT) as Promise<string>;

const webcamFrames = async (s: PageSession) => Number(await s.page.evaluate(`${PANEL}.dataset.webcamFrames ?? -1`));

beforeAll(async () => {
  session = await openPage('/?model=tinyvgg&image=boat_1', { flags: FAKE_CAMERA });
  await until(session, `${APP}.dataset.state === 'done'`, 'the first classification', 90_000);
  // Keep every camera stream the page opens, to check that stopping ends its tracks.
  await session.page.evaluate(`(() => {
    window.__streams = [];
    const get = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = async (c) => { const st = await get(c); window.__streams.push(st); return st; };
  })()`);
});

afterAll(async () => {
  await session?.close();
  session = null;
});

describe('webcam mode (Chromium fake camera, WebGPU on SwiftShader)', () => {
  it.each(TECHNIQUES.map((t) => [t]))('%s runs continuously on the camera and stops cleanly', async (name) => {
    const s = page();
    await s.page.evaluate(`window.cnnvis.open('?technique=${name}&model=tinyvgg&image=boat_1')`); // resolves once the run on the image is over
    expect(await s.page.evaluate(`${PANEL}.dataset.state`), `${name}: the run on the picked image`).toBe('done');
    const streams = (await s.page.evaluate('window.__streams.length')) as number;
    const picked = await viewPrint(s);
    await s.page.click('cnn-app >>> cnn-technique-panel >>> button.webcam');
    await until(s, `${PANEL}.webcam && ${PANEL}.dataset.state === 'running' && Number(${PANEL}.dataset.webcamFrames) >= ${MIN_FRAMES}`, `${name}: ${MIN_FRAMES} camera frames`, 90_000);
    expect(await s.page.evaluate(`${PANEL}.shadowRoot.querySelector('button.webcam').getAttribute('aria-pressed')`)).toBe('true');
    expect(await s.page.evaluate('window.__streams.length'), `${name}: one camera stream opened`).toBe(streams + 1);
    expect(await s.page.evaluate(`window.__streams.at(-1).getVideoTracks()[0].readyState`)).toBe('live');
    const stds = await viewStds(s);
    expect(stds.length, `${name}: views of a camera frame`).toBeGreaterThan(0);
    for (const v of stds) expect(v, `${name}: a view of a camera frame is uniform`).toBeGreaterThan(MIN_PICTURE_STD);
    // The views now show a camera frame (Chromium's moving test pattern), not the picked image, and they follow the camera.
    const first = await viewPrint(s);
    expect(first, `${name}: the views after switching to the camera`).not.toBe(picked);
    // The camera's pattern moves, so later frames give other views (a loaded machine may hand a frame twice).
    await until(s, `(${VIEW_PRINT}) !== ${JSON.stringify(first)}`, `${name}: the views changing with the camera`, 60_000);

    await s.page.click('cnn-app >>> cnn-technique-panel >>> button.webcam');
    await until(s, `!${PANEL}.webcam && ${PANEL}.dataset.state !== 'running'`, `${name}: stopping`, 30_000);
    expect(await s.page.evaluate(`${PANEL}.dataset.state`), `${name}: after stopping`).toBe('done');
    expect(await s.page.evaluate(`window.__streams.at(-1).getVideoTracks()[0].readyState`), `${name}: the camera track`).toBe('ended');
    const stopped = await webcamFrames(s);
    await new Promise((r) => setTimeout(r, 1500));
    const after = await webcamFrames(s);
    expect(after - stopped, `${name}: frames processed after stopping (one in flight may finish)`).toBeLessThanOrEqual(1);
    expect(after, `${name}: camera frames processed`).toBeGreaterThanOrEqual(MIN_FRAMES);
    expect(s.pageErrors.filter((e) => /webcam|camera|getUserMedia/i.test(e)), `${name}: page errors`).toEqual([]);
    // The panel runs on the picked image again.
    await s.page.click('cnn-app >>> cnn-technique-panel >>> button.run');
    await until(s, `${PANEL}.dataset.state === 'done' && !${PANEL}.webcam`, `${name}: a run on the image after the webcam`, 60_000);
    console.log(`app_webcam: ${name}: ${after} camera frames processed, stopped cleanly`);
  });

  it('stopped while the camera is still opening, the camera is closed as it opens and no frame runs', async () => {
    const s = page();
    await s.page.evaluate(`window.cnnvis.open('?technique=saliency&model=tinyvgg&image=boat_1')`);
    const streams = (await s.page.evaluate('window.__streams.length')) as number;
    // Start and stop in one task: getUserMedia has not answered yet.
    await s.page.evaluate(`(() => { void ${PANEL}.startWebcam(); ${PANEL}.stopWebcam(); })()`);
    await until(s, `window.__streams.length > ${streams}`, 'the camera opening', 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await s.page.evaluate(`window.__streams.at(-1).getVideoTracks()[0].readyState`), 'the camera track').toBe('ended');
    expect(await webcamFrames(s), 'camera frames processed after the stop').toBe(0);
    expect(await s.page.evaluate(`${PANEL}.webcam`)).toBe(false);
    expect(await s.page.evaluate(`${PANEL}.dataset.state`)).not.toBe('running');
  });
});
