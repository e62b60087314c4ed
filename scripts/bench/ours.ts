// Our engine's side of each benchmarked layer: conv2d / conv2dBackwardInput and linear /
// linearBackwardInput from engine/ops, one runtime per forced kernel variant (all on the same
// adapter), plus the variant the adapter gets by default.

import { CONV2D_VARIANTS } from '../../engine/kernels/conv2d';
import { linearVariantsFor } from '../../engine/kernels/linear';
import { conv2d, conv2dBackwardInput, type Conv2dParams } from '../../engine/ops/conv2d';
import { linear, linearBackwardInput } from '../../engine/ops/linear';
import { Runtime } from '../../engine/runtime';
import { Tensor } from '../../engine/tensor';
import { layerData, wShape, xShape, yShape, type LayerData } from './data';
import type { BenchLayer, Direction } from './layers';
import type { Timed } from './timing';

export type Family = 'conv2d' | 'linear';

export const familyOf = (l: BenchLayer): Family => (l.conv ? 'conv2d' : 'linear');

/** The variants of a family this runtime's device can run (gemv_subgroup needs the 'subgroups' feature). */
export function variantsFor(rt: Runtime, family: Family): readonly string[] {
  return family === 'conv2d' ? CONV2D_VARIANTS : linearVariantsFor(rt);
}

/** A timed layer on our engine; output() reads the last result back (dense NCHW). */
export interface OurLayerRunner extends Timed {
  output(): Promise<Float32Array>;
  dispose(): void;
}

export function convParams(l: BenchLayer): Conv2dParams {
  const c = l.conv!;
  return { stride: [c.sh, c.sw], pad: [...c.pad], groups: c.groups };
}

export function ourLayer(rt: Runtime, l: BenchLayer, dir: Direction, d: LayerData): OurLayerRunner {
  const owned: Tensor[] = [];
  const up = (data: Float32Array, shape: readonly number[], label: string): Tensor => {
    const t = Tensor.fromData(rt, data, shape, `bench.${label}`);
    owned.push(t);
    return t;
  };
  const w = up(d.w, wShape(l), 'w');
  const b = up(d.b, [1, wShape(l)[0], 1, 1], 'b');
  let op: () => Tensor;
  if (dir === 'forward') {
    const x = up(d.x, xShape(l), 'x');
    op = l.conv ? () => conv2d(x, w, b, convParams(l)) : () => linear(x, w, b);
  } else {
    const dy = up(d.dy, yShape(l), 'dy');
    op = l.conv ? () => conv2dBackwardInput(dy, w, xShape(l), convParams(l)) : () => linearBackwardInput(dy, w, xShape(l));
  }
  let last: Tensor | null = null;
  return {
    run() {
      const y = op();
      // Freed at once: the pool hands the same buffer to the next iteration (commands run in order).
      last?.dispose();
      last = y;
    },
    sync: () => rt.sync(),
    async output() {
      if (!last) throw new Error(`${l.name}: output() before run()`);
      return last.read();
    },
    dispose() {
      last?.dispose();
      last = null;
      for (const t of owned) t.dispose();
    },
  };
}

/** The variant each family runs by default on this adapter: what its kernel asks rt.variant() for. */
export async function defaultVariants(rt: Runtime): Promise<Record<Family, string>> {
  const seen: Partial<Record<string, string>> = {};
  const own = rt as { variant: Runtime['variant'] };
  own.variant = <T extends string>(family: string, byKind: Record<'cpu' | 'gpu', T>): T => {
    const v = Runtime.prototype.variant.call(rt, family, byKind) as T;
    seen[family] = v;
    return v;
  };
  try {
    const probes: BenchLayer[] = [
      { model: 'alexnet', name: 'probe', same: [], conv: { n: 1, cin: 2, h: 3, w: 3, cout: 2, kh: 3, kw: 3, sh: 1, sw: 1, pad: [1, 1, 1, 1], groups: 1, oh: 3, ow: 3 } },
      { model: 'alexnet', name: 'probe', same: [], linear: { n: 1, inFeatures: 4, outFeatures: 2 } },
    ];
    for (const l of probes) {
      const r = ourLayer(rt, l, 'forward', layerData(l));
      r.run();
      await r.sync();
      r.dispose();
    }
  } finally {
    delete (own as { variant?: unknown }).variant;
  }
  return { conv2d: seen.conv2d ?? 'unknown', linear: seen.linear ?? 'unknown' };
}
