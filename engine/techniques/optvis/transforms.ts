// Transformation robustness (Lucid's optvis/transform.py): at every step the image is randomly
// moved before the forward, and the gradient is moved back (the adjoint). Steps:
//
//   roll(max)        wrap-around integer shift in [-max, max] (CS231n's jitter), its adjoint the inverse roll
//   pad(p)           the canvas grows by p on each side, filled with a constant (mid-gray)
//   jitter(d)        a random crop d pixels smaller (offset 0..d), as Lucid's jitter
//   scale(choices)   zoom about the centre by one of the factors
//   rotate(degrees)  rotate about the centre by one of the angles (degrees)
//
// The rolls run first (one roll), then every other step is composed into ONE bilinear resample
// (affine, gathered backward, deterministic). Lucid resizes the image when it scales; here the
// canvas keeps its size (pad and crops only) and scale zooms the content, so a run has one input
// size and its plan, and nothing is allocated per step. The crops' offsets compose as a sum (they
// are uniform noise either way). Random draws come from the loop's seeded stream.

import { affine, affineBackward, affineMatrices, affineMatrix, roll } from '../../ops/transform';
import { Tensor } from '../../tensor';

export type TransformStep =
  | { kind: 'roll'; max: number }
  | { kind: 'pad'; pad: number }
  | { kind: 'jitter'; max: number }
  | { kind: 'scale'; choices: readonly number[] }
  | { kind: 'rotate'; choices: readonly number[] };

/** Lucid's standard_transforms: pad 12, jitter 8, scale 0.90..1.10, rotate -10..10 degrees, jitter 4. */
export const LUCID_TRANSFORMS: readonly TransformStep[] = [
  { kind: 'pad', pad: 12 },
  { kind: 'jitter', max: 8 },
  { kind: 'scale', choices: Array.from({ length: 11 }, (_, i) => 1 + (i - 5) / 50) },
  { kind: 'rotate', choices: [...Array.from({ length: 21 }, (_, i) => i - 10), 0, 0, 0, 0, 0] },
  { kind: 'jitter', max: 4 },
];

/** CS231n's class-visualization jitter: a wrap-around shift of up to `max` pixels. */
export function rollJitter(max: number): TransformStep[] {
  return max > 0 ? [{ kind: 'roll', max }] : [];
}

/** The canvas (H, W) the transformed image has: + 2 pad per pad step, - d per jitter step. */
export function canvasSize(steps: readonly TransformStep[], height: number, width: number): [number, number] {
  const grow = steps.reduce((a, s) => a + (s.kind === 'pad' ? 2 * s.pad : s.kind === 'jitter' ? -s.max : 0), 0);
  return [height + grow, width + grow];
}

function checkSteps(steps: readonly TransformStep[]): void {
  for (const s of steps) {
    const bad = (why: string) => new Error(`transform ${s.kind}: ${why} (steps: roll, pad, jitter, scale, rotate)`);
    if (s.kind === 'roll' || s.kind === 'jitter') {
      if (!Number.isInteger(s.max) || s.max < 0) throw bad(`max must be a non-negative integer, got ${s.max}`);
    } else if (s.kind === 'pad') {
      if (!Number.isInteger(s.pad) || s.pad < 0) throw bad(`pad must be a non-negative integer, got ${s.pad}`);
    } else if (s.kind === 'scale' || s.kind === 'rotate') {
      if (s.choices.length === 0 || !s.choices.every((v) => Number.isFinite(v) && (s.kind === 'rotate' || v > 0))) throw bad(`choices must be ${s.kind === 'scale' ? 'positive ' : ''}finite numbers, got [${s.choices.join(', ')}]`);
    } else throw new Error(`unknown transform '${(s as { kind: string }).kind}' (roll, pad, jitter, scale, rotate)`);
  }
}

/** Transforms bound to an image shape: scratch allocated once. */
export interface BoundTransforms {
  /** The transformed image's (H, W). */
  readonly canvas: [number, number];
  /** Draw this step's random transform and apply it (returns a tensor owned here, or x with no steps). */
  apply(x: Tensor, rand: () => number): Tensor;
  /** The adjoint of the last apply: d/dx from d/dy (returns a tensor owned here, or dy). */
  backward(dy: Tensor): Tensor;
  dispose(): void;
}

/**
 * Bind `steps` to images x (N, C, H, W); `padValue` is what the canvas shows outside the image,
 * `canvas` overrides the output size (e.g. a network with a fixed-size classifier head).
 */
export function bindTransforms(x: { rt: Tensor['rt']; shape: readonly number[] }, steps: readonly TransformStep[], o: { padValue?: number; canvas?: [number, number] } = {}): BoundTransforms {
  checkSteps(steps);
  const { rt } = x;
  const [n, c, h, w] = x.shape;
  const rolls = steps.filter((s): s is Extract<TransformStep, { kind: 'roll' }> => s.kind === 'roll' && s.max > 0);
  const geometric = steps.filter((s) => s.kind !== 'roll');
  const canvas = o.canvas ?? canvasSize(geometric, h, w);
  if (!(canvas[0] >= 1 && canvas[1] >= 1)) throw new Error(`transforms: the canvas of a ${h}x${w} image would be ${canvas[0]}x${canvas[1]} (jitter crops more than the image and its padding)`);
  const rolled = rolls.length ? Tensor.empty(rt, [n, c, h, w], 'transform rolled') : null;
  const dRolled = rolls.length ? Tensor.empty(rt, [n, c, h, w], 'transform d rolled') : null;
  const useAffine = geometric.length > 0;
  const m = useAffine ? Tensor.empty(rt, [n, 1, 1, 6], 'transform matrices') : null;
  const y = useAffine ? Tensor.empty(rt, [n, c, canvas[0], canvas[1]], 'transform out') : null;
  const dx = useAffine ? Tensor.empty(rt, [n, c, h, w], 'transform dx') : null;
  const pad = { pad: 'constant' as const, padValue: o.padValue ?? 0 };
  let shift: [number, number] = [0, 0];
  const pick = <T>(a: readonly T[], rand: () => number) => a[Math.min(a.length - 1, Math.floor(rand() * a.length))];
  const int = (max: number, rand: () => number) => Math.min(max, Math.floor(rand() * (max + 1)));
  const draw = (rand: () => number): number[] => {
    let s = 1;
    let r = 0;
    const t: [number, number] = [0, 0];
    for (const st of geometric) {
      if (st.kind === 'scale') s *= pick(st.choices, rand);
      else if (st.kind === 'rotate') r += (pick(st.choices, rand) * Math.PI) / 180;
      else if (st.kind === 'jitter') for (const k of [0, 1]) t[k] += st.max / 2 - int(st.max, rand);
    }
    return affineMatrix({ scale: s, rotate: r, translate: t }, h, w, canvas[0], canvas[1]);
  };
  return {
    canvas,
    apply(img, rand) {
      let v = img;
      if (rolled) {
        const max = rolls.reduce((a, s) => a + s.max, 0);
        shift = [int(2 * max, rand) - max, int(2 * max, rand) - max];
        v = roll(img, shift[0], shift[1], rolled);
      }
      if (!m) return v;
      affineMatrices(rt, Array.from({ length: n }, () => draw(rand)), m);
      return affine(v, m, { ...pad, height: canvas[0], width: canvas[1] }, y!);
    },
    backward(dy) {
      const d = m ? affineBackward(dy, m, { pad: pad.pad, height: h, width: w }, dx!) : dy;
      return dRolled ? roll(d, -shift[0], -shift[1], dRolled) : d;
    },
    dispose() {
      for (const t of [rolled, dRolled, m, y, dx]) t?.dispose();
    },
  };
}
