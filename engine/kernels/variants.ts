// The kernel variants each family offers and which of them this device can run, for checking
// choices that come from elsewhere (an autotune cache recorded on another device or an older
// engine; see engine/autotune.ts usableVariants). Kernels still check forced variants themselves.

import type { DeviceFeatures } from '../device';
import type { Runtime } from '../runtime';
import { CONV2D_VARIANTS } from './conv2d';
import { GRAM_VARIANTS } from './gram';
import { LINEAR_NEEDS, LINEAR_VARIANTS, linearVariantsFor } from './linear';
import { PAIRWISE_VARIANTS } from './pairwise';
import { TOPK_VARIANTS } from './topk';

interface Family {
  all: readonly string[];
  /** The variants the device of rt can run (all of them when absent). */
  here?: (rt: Runtime) => readonly string[];
  /** The device feature a variant needs, for the message when it is missing. */
  needs?: Partial<Record<string, keyof DeviceFeatures>>;
}

const FAMILIES: Record<string, Family> = {
  conv2d: { all: CONV2D_VARIANTS },
  linear: { all: LINEAR_VARIANTS, here: linearVariantsFor, needs: LINEAR_NEEDS },
  gram: { all: GRAM_VARIANTS },
  pairwise: { all: PAIRWISE_VARIANTS },
  topk: { all: TOPK_VARIANTS },
};

/** Why `rt`'s device cannot run variant `v` of `family`, or null when it can (or the family has no variants to check). */
export function variantUnavailable(rt: Runtime, family: string, v: string): string | null {
  const f = Object.hasOwn(FAMILIES, family) ? FAMILIES[family] : undefined;
  if (!f) return null;
  if (!f.all.includes(v)) return `'${v}' is not a ${family} variant (valid: ${f.all.join(', ')})`;
  const here = f.here ? f.here(rt) : f.all;
  if (here.includes(v)) return null;
  const need = f.needs?.[v];
  const what = need ? `the WebGPU feature '${need}'` : 'a feature';
  return `it needs ${what}, which this device does not have (valid here: ${here.join(', ')})`;
}
