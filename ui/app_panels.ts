// The app's own panels, listed in the navigation and reached by URL like the techniques, but
// drawn by their own elements rather than by <cnn-technique-panel> (they are live, not a run()
// that returns a result): the kernel inspector and the live class visualization. Each is a
// Technique entry for the navigation, the URL and option parsing; its run/present are never
// called (the CLI does not list these).

import { OPTIMIZERS } from '../engine/techniques/optvis/optimizers';
import { PARAMS } from '../engine/techniques/optvis/param';
import type { OptionSpec, Technique } from '../engine/techniques/technique';

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
export const LIVE_SETTINGS = ['lr', 'l2', 'blurSigma', 'blurEvery', 'decay', 'tvWeight'] as const;

const LIVE_OPTIONS: OptionSpec[] = [
  { kind: 'class', name: 'class', help: 'The class to visualize (index or label); empty: the top-1 class of the image', default: '' },
  { kind: 'int', name: 'steps', help: 'Iterations', default: 256, min: 1, max: 5000 },
  { kind: 'enum', name: 'param', help: 'Image parameterization (Lucid: fourier)', default: 'fourier', choices: PARAMS },
  { kind: 'enum', name: 'optimizer', help: 'Optimizer', default: 'adam', choices: OPTIMIZERS },
  { kind: 'number', name: 'lr', help: 'Learning rate (live)', default: 0.05, min: 0, max: 2, step: 0.005 },
  { kind: 'number', name: 'l2', help: 'L2 penalty on the image (live)', default: 0, min: 0, max: 0.1, step: 0.001 },
  { kind: 'number', name: 'blurSigma', help: 'Pixels: Gaussian blur sigma (live)', default: 0, min: 0, max: 2, step: 0.05 },
  { kind: 'int', name: 'blurEvery', help: 'Pixels: blur every k steps (live)', default: 4, min: 0, max: 50 },
  { kind: 'number', name: 'decay', help: 'Pixels: weight decay per step (live)', default: 0, min: 0, max: 0.2, step: 0.001 },
  { kind: 'number', name: 'tvWeight', help: 'Total variation penalty (live)', default: 0, min: 0, max: 1, step: 0.005 },
  { kind: 'int', name: 'jitter', help: 'Roll jitter, pixels', default: 4, min: 0, max: 32 },
  { kind: 'int', name: 'seed', help: 'Random seed', default: 0, min: 0 },
];

export const LIVE_CLASS_VIS: Technique = {
  name: 'class-vis-live',
  title: 'Class visualization (live)',
  group: 'optimization',
  description: 'Gradient ascent on the image to maximize a class score (Simonyan et al. 2014; Lucid\u2019s Fourier parameterization and jitter), '
    + 'every iteration drawn as it happens. Pause, resume or cancel; the live sliders take effect at the next step.',
  needsImage: false,
  options: LIVE_OPTIONS,
  run: () => panelOnly('class-vis-live'),
  present: () => panelOnly('class-vis-live'),
};

/** The app's own panels (ui elements by technique name). */
export const APP_PANELS: readonly Technique[] = [INSPECTOR, LIVE_CLASS_VIS];
