import { afterAll, describe, expect, it } from 'vitest';
import { GRAM_VARIANTS, type GramVariant } from '../engine/kernels/gram';
import { Runtime } from '../engine/runtime';
import { gram, gramBackward, gramLoss } from '../engine/ops/gram';
import { expectClose, FD_TOL, FORWARD_TOL, GRAD_TOL } from './helpers/close';
import { lossFn, numericGrad, pick } from './helpers/fd';
import { gpu, size, track, upload } from './helpers/gpu';
import { randomArray, toF64 } from './helpers/random';
import { hostedView, type Shape } from './helpers/views';
import * as ref from './reference/gram';

// Channel counts and pixel counts off the 16-tile, one exact multiple, and a real VGG-like layer
// shape cut to fit SwiftShader (64 channels at 28x28).
const SHAPES: Shape[] = [
  [1, 1, 1, 1],
  [2, 3, 5, 7],
  [1, 17, 4, 5],
  [2, 16, 4, 4],
  [1, 33, 9, 11],
  [1, 64, 28, 28],
];

// Both variants on this machine's adapter (the 'tiled' GPU one and the 'direct' CPU one).
const runtimes = Object.fromEntries(GRAM_VARIANTS.map((v) => [v, Runtime.create({ variants: { gram: v } })])) as Record<GramVariant, Promise<Runtime>>;
afterAll(async () => {
  for (const rt of Object.values(runtimes)) (await rt).destroy();
});

describe.each(GRAM_VARIANTS)('gram and gramBackward, %s variant', (variant) => {
  it.each(SHAPES)('(%i, %i, %i, %i) G = F F^T / HW and dF match the float64 reference', async (...shape) => {
    const rt = await runtimes[variant];
    const [n, c, h, w] = shape;
    const fd = randomArray(size(shape), 1);
    const f = upload(rt, fd, shape, 'f');
    expectClose(await track(gram(f)).read(), ref.gram(n, c, h * w, fd), FORWARD_TOL, [n, 1, c, c], 'gram');
    const dgd = randomArray(n * c * c, 2);
    const df = track(gramBackward(f, upload(rt, dgd, [n, 1, c, c], 'dg')));
    expectClose(await df.read(), ref.gramBackward(n, c, h * w, fd, dgd), GRAD_TOL, shape, 'gram dF');
  });

  it('reads a channel view and accumulates into a gradient view', async () => {
    const rt = await runtimes[variant];
    const shape: Shape = [2, 5, 3, 7];
    const f = hostedView(rt, shape, 5);
    const out = hostedView(rt, shape, 6, undefined, 'df');
    const fv = await f.view.read();
    expectClose(await track(gram(f.view)).read(), ref.gram(2, 5, 21, fv), FORWARD_TOL, [2, 1, 5, 5], 'gram of a view');
    const dgd = randomArray(50, 7);
    const before = await out.view.read();
    gramBackward(f.view, upload(rt, dgd, [2, 1, 5, 5], 'dg'), { out: out.view, accumulate: true });
    const d = ref.gramBackward(2, 5, 21, fv, dgd);
    expectClose(await out.view.read(), before.map((v, i) => v + d[i]), GRAD_TOL, shape, 'accumulated dF');
  });
});

describe('gram: references, style loss, errors', () => {
  it.each([[[2, 3, 2, 3]], [[1, 5, 3, 2]]] as const)('%j: the reference backward matches finite differences', ([n, c, h, w]) => {
    const fd = toF64(randomArray(n * c * h * w, 3));
    const dg = randomArray(n * c * c, 4);
    const [idx, num] = numericGrad(lossFn((v) => ref.gram(n, c, h * w, v), dg), fd);
    expectClose(pick(ref.gramBackward(n, c, h * w, fd, dg), idx), num, FD_TOL, undefined, 'gram fd');
  });

  it('style loss: value and dL/dG match the reference, dL/dF matches finite differences of the whole loss', async () => {
    const rt = await gpu();
    const [n, c, h, w] = [1, 4, 3, 5];
    const fd = randomArray(n * c * h * w, 8);
    const td = randomArray(n * c * c, 9, 0.3);
    const f = upload(rt, fd, [n, c, h, w], 'f');
    const g = track(gram(f));
    const { value, grad } = gramLoss(g, upload(rt, td, [n, 1, c, c], 'target'), { weight: 0.5 });
    track(value);
    track(grad);
    const gRef = ref.gram(n, c, h * w, fd);
    expectClose(await value.read(), ref.gramLoss(n, gRef, td, 0.5), FORWARD_TOL, [n], 'style loss');
    expectClose(await grad.read(), gRef.map((v, i) => (v - td[i])), { atol: 1e-5, rtol: 1e-4 }, [n, 1, c, c], 'dL/dG');
    const df = await track(gramBackward(f, grad)).read();
    const [idx, num] = numericGrad((v) => ref.gramLoss(n, ref.gram(n, c, h * w, v), td, 0.5)[0], toF64(fd));
    expectClose(pick(df, idx), num, GRAD_TOL, undefined, 'style loss dF vs fd');
  });

  it('refuses bad shapes with clear errors', async () => {
    const rt = await gpu();
    const f = upload(rt, randomArray(24, 10), [1, 2, 3, 4], 'f');
    expect(() => gramBackward(f, upload(rt, randomArray(9, 10), [1, 1, 3, 3], 'dg'))).toThrow(/gramBackward: dg has shape \(1, 1, 3, 3\), expected \(1, 1, 2, 2\)/);
    expect(() => gram(f, upload(rt, randomArray(4, 10), [1, 2, 1, 2], 'g'))).toThrow(/gram: out has shape \(1, 2, 1, 2\), expected \(1, 1, 2, 2\)/);
    const g = track(gram(f));
    expect(() => gramLoss(g, upload(rt, randomArray(8, 11), [2, 1, 2, 2], 't'))).toThrow(/gramLoss: target has shape \(2, 1, 2, 2\), expected \(1, 1, 2, 2\)/);
    expect(() => gramBackward(f, g, { accumulate: true })).toThrow(/accumulate needs out/);
  });
});
