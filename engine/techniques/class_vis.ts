// Class visualization (Simonyan, Vedaldi and Zisserman 2014, section 2; Yosinski, Clune, Nguyen,
// Fuchs and Lipson 2015): the image that maximizes a class score,
//
//   x* = argmax_x  S_c(x) - l2 ||x||^2
//
// from zeros (or noise), by gradient ascent with the regularizers of Yosinski et al. between steps
// (decay, a Gaussian blur every k steps, pixels of small norm or small contribution |sum_c x g|
// clipped to zero: one fused GPU pass, engine/ops/regularize.ts) and CS231n's random jitter; or,
// with --param fourier, Lucid's Fourier parameterization and transformation robustness. The loop
// is engine/techniques/optvis/. The saved PNG is the optimized image itself, and the summary says
// what the network makes of it once it is 8-bit (pictureTop5).

import { classLogit, maximize } from './optvis/index';
import { presentVis, runVis, safeStem, VIS_LIVE_OPTIONS, VIS_OPTIONS, VIS_PRESETS, type VisOptions, type VisResult } from './optvis/vis';
import { classLabel, resolveClass } from './resolve';
import type { Technique } from './technique';

export interface ClassVisOptions extends VisOptions {
  class: string;
}

function classOf(model: Parameters<typeof resolveClass>[0], o: ClassVisOptions): number {
  return resolveClass(model, o.class, 'class-vis') ?? 0;
}

export const classVis: Technique<ClassVisOptions, VisResult> = {
  name: 'class-vis',
  title: 'Class visualization',
  group: 'optimization',
  description:
    'The image the network finds most like a class: gradient ascent on the class logit from a blank image, minus an L2 penalty, with blur, clipping and jitter between steps (Simonyan et al. 2014; Yosinski et al. 2015), or in Lucid\'s Fourier space with --param fourier.',
  needsImage: false,
  options: [{ kind: 'class', name: 'class', default: '0', help: 'class to visualize: an index or a label substring (default 0)' }, ...VIS_OPTIONS],
  presets: VIS_PRESETS,
  liveOptions: VIS_LIVE_OPTIONS,
  stem: (model, o) => safeStem(classLabel(model, classOf(model, o)).split(',')[0]),
  async run(ctx, o) {
    const index = classOf(ctx.model, o);
    const label = classLabel(ctx.model, index);
    return runVis(ctx, o, 'class-vis', maximize(classLogit(ctx.model, index)), { class: { index, label } });
  },
  present(r) {
    const index = (r.info.class as { index: number }).index;
    const logit = r.pictureLogits ? r.pictureLogits[index] : null;
    const top1 = r.pictureTop ? r.pictureTop[0].index === index : null;
    return presentVis(r, { pictureLogit: logit, pictureTop1IsClass: top1 });
  },
};
