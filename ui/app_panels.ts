// The app's own panels, listed in the navigation and reached by URL like the techniques, but
// drawn by their own elements rather than by <cnn-technique-panel> (they are live, not a run()
// that returns a result): the kernel inspector and the live class visualization. Each is a
// Technique entry for the navigation, the URL and option parsing; its run/present are never
// called (the CLI does not list these).

import { classVis } from '../engine/techniques/class_vis';
import type { Technique } from '../engine/techniques/technique';

function panelOnly(name: string): never {
  throw new Error(`${name} is a panel of the app (ui/), not a technique the CLI runs`);
}

export const INSPECTOR: Technique = {
  name: 'inspector',
  title: 'Kernel inspector',
  group: 'engine',
  description: 'Every GPU dispatch of a forward + backward pass: WGSL source, launch shape, FLOPs, bytes, GPU time and a roofline.',
  needsImage: true,
  options: [],
  run: () => panelOnly('inspector'),
  present: () => panelOnly('inspector'),
};

/** Options of the live run that take effect at the next step while it runs (the loop reads them each step). */
export const LIVE_SETTINGS = ['lr', 'l2', 'decay', 'blurSigma', 'blurEvery', 'normPercentile', 'contribPercentile'] as const;

/** The class-vis technique (same options, presets and defaults), run live by <cnn-live-run>. */
export const LIVE_CLASS_VIS: Technique = {
  ...(classVis as unknown as Technique),
  name: 'class-vis-live',
  title: 'Class visualization (live)',
  description: `${classVis.description} Live: every iteration is drawn as it happens, with pause, resume and cancel; `
    + 'lr, l2, decay, blur and the percentiles take effect at the next step.',
  run: () => panelOnly('class-vis-live'),
  present: () => panelOnly('class-vis-live'),
};

/** The app's own panels (ui elements by technique name). */
export const APP_PANELS: readonly Technique[] = [INSPECTOR, LIVE_CLASS_VIS];
