// What the page shows on screen, for the end-to-end tests: a screenshot of one element (clipped
// by its box in page coordinates once the layout has settled: Puppeteer's element screenshot of a
// shadow-DOM canvas under the app's sticky header can come back offset), and the luminance spread
// of those pixels ("a real picture, not a uniform one").

import { PNG } from 'pngjs';
import type { Page } from 'puppeteer-core';
import type { PageSession } from './browser';

/** A screenshot of the element `selector` (Puppeteer's >>> shadow piercing allowed), after scrolling it into view. */
export async function elementShot(s: PageSession, selector: string, settleMs = 300): Promise<PNG> {
  const el = await s.page.$(selector);
  if (!el) throw new Error(`screen: no element ${selector}`);
  await el.evaluate((e) => e.scrollIntoView({ block: 'center' }));
  await new Promise((r) => setTimeout(r, settleMs));
  const clip = (await el.evaluate((e) => {
    const r = e.getBoundingClientRect();
    return { x: r.x + window.scrollX, y: r.y + window.scrollY, width: r.width, height: r.height };
  })) as { x: number; y: number; width: number; height: number };
  if (clip.width < 1 || clip.height < 1) throw new Error(`screen: ${selector} has no area (${clip.width} x ${clip.height})`);
  return PNG.sync.read(Buffer.from(await s.page.screenshot({ type: 'png', clip, captureBeyondViewport: false })));
}

/** Luminance standard deviation (0..255 scale) of a picture's pixels. */
export function luminanceStd(png: PNG): number {
  let m = 0, m2 = 0;
  const n = png.width * png.height;
  for (let i = 0; i < png.data.length; i += 4) {
    const y = 0.299 * png.data[i] + 0.587 * png.data[i + 1] + 0.114 * png.data[i + 2];
    m += y;
    m2 += y * y;
  }
  return Math.sqrt(Math.max(0, m2 / n - (m / n) ** 2));
}

/** Luminance standard deviation of an element as shown on screen. */
export async function pictureStd(s: PageSession, selector: string): Promise<number> {
  return luminanceStd(await elementShot(s, selector));
}

/** A result view's canvas: its size, luminance standard deviation (0..255) and mean alpha. */
export interface CanvasStats { width: number; height: number; std: number; alpha: number }

/** CanvasStats of every result view (cnn-view) in the shadow root of `host`, a page expression (e.g. the technique panel). */
export function viewCanvasStats(page: Page, host: string): Promise<CanvasStats[]> {
  return page.evaluate(`[...${host}.shadowRoot.querySelectorAll('cnn-view')].map((v) => {
    const c = v.shadowRoot.querySelector('canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let s = 0, s2 = 0, a = 0;
    const n = c.width * c.height;
    for (let i = 0; i < d.length; i += 4) {
      const y = 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
      s += y; s2 += y * y; a += d[i + 3];
    }
    return { width: c.width, height: c.height, std: Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2)), alpha: a / n };
  })`) as Promise<CanvasStats[]>;
}
