// The app's own panels, listed in the navigation and reached by URL like the techniques, but
// drawn by their own elements rather than by <cnn-technique-panel> (not a run() that returns a
// result): the kernel inspector. Each is a Technique entry for the navigation, the URL and option
// parsing; its run/present are never called (the CLI does not list these).

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

/**
 * Old panel names still reached by URL: the live class visualization is now the class-vis panel
 * itself (every iterative technique's panel streams its run, ui/cnn-live-run.ts).
 */
export const PANEL_ALIASES: Readonly<Record<string, string>> = { 'class-vis-live': 'class-vis' };

/** The app's own panels (ui elements by technique name). */
export const APP_PANELS: readonly Technique[] = [INSPECTOR];
