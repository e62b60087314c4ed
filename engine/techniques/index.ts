// The registry: every technique the CLI (scripts/cli/techniques.ts), the app and the tests know.
// A plain array in display order; a new technique file appends itself here.

import { activations } from './activations';
import { classVis } from './class_vis';
import { filters } from './filters';
import { galleryFeatures } from './gallery_features';
import { faithfulnessTechnique } from './faithfulness';
import { grabcut } from './grabcut';
import { gradcam } from './gradcam';
import { guided } from './guided';
import { integratedGradientsTechnique } from './integrated_gradients';
import { neuronVis } from './neuron_vis';
import { occlusion } from './occlusion';
import { receptiveField } from './receptive_field';
import { saliency } from './saliency';
import { smoothgrad } from './smoothgrad';
import type { Technique } from './technique';
import { topPatches } from './top_patches';
import { neighbors } from './neighbors';
import { embed } from './embed';
import { fool } from './fool';
import { deepdream } from './deepdream';
import { invert } from './invert';
import { texture, style } from './style';

export const TECHNIQUES: Technique<any, any>[] = [
  filters,
  activations,
  saliency,
  grabcut,
  guided,
  occlusion,
  gradcam,
  smoothgrad,
  integratedGradientsTechnique,
  faithfulnessTechnique,
  galleryFeatures,
  topPatches,
  receptiveField,
  classVis,
  neuronVis,
  neighbors,
  embed,
  fool,
  deepdream,
  invert,
  texture,
  style,
];

/** The technique called `name`, or an error listing them all. */
export function techniqueByName(name: string): Technique<any, any> {
  const t = TECHNIQUES.find((x) => x.name === name);
  if (!t) throw new Error(`unknown technique '${name}' (techniques: ${TECHNIQUES.map((x) => x.name).join(', ')})`);
  return t;
}

export * from './technique';
