import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../engine/index';
import { Runtime } from '../engine/runtime';
import { tsneState, tsneStep } from '../engine/ops/tsne';
import { embed, fileClasses, snapToGrid } from '../engine/techniques/embed';
import { defaultOptions } from '../engine/techniques/technique';
import { pca } from '../engine/techniques/pca';
import { jointProbabilities, tsne, tsneInit, tsneSchedule } from '../engine/techniques/tsne';
import { expectClose, type Tolerance } from './helpers/close';
import { gpu } from './helpers/gpu';
import { randomArray, rng } from './helpers/random';
import * as refPca from './reference/pca';
import * as ref from './reference/tsne';

/** A few float32 t-SNE steps vs float64 (sums over N terms, gains amplify nothing at this scale). */
const TSNE_STEP_TOL: Tolerance = { atol: 1e-5, rtol: 1e-3 };
/** Largest principal angle (its sine) between the GPU/CPU PCA subspace and the float64 eigenvectors. */
const SUBSPACE_SINE = 1e-3;

/** n points around `clusters` well-separated centres in d dimensions. */
function clustered(n: number, d: number, clusters: number, seed: number): Float32Array {
  const r = rng(seed);
  const centres = Float32Array.from({ length: clusters * d }, () => 10 * (r() - 0.5));
  return Float32Array.from({ length: n * d }, (_, e) => centres[(Math.floor(e / d) % clusters) * d + (e % d)] + 0.5 * (r() - 0.5));
}

/** n points with variance along d directions falling off as scales (a random rotation, then noise). */
function anisotropic(n: number, d: number, scales: number[], seed: number): Float32Array {
  const r = rng(seed);
  const basis = Float64Array.from(randomArray(d * d, seed + 1));
  for (let a = 0; a < d; a++) {
    for (let b = 0; b < a; b++) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += basis[a * d + j] * basis[b * d + j];
      for (let j = 0; j < d; j++) basis[a * d + j] -= dot * basis[b * d + j];
    }
    const norm = Math.sqrt(basis.slice(a * d, a * d + d).reduce((s, v) => s + v * v, 0));
    for (let j = 0; j < d; j++) basis[a * d + j] /= norm;
  }
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < d; a++) {
      const z = (scales[a] ?? 0.05) * (2 * r() - 1) * 1.7;
      for (let j = 0; j < d; j++) x[i * d + j] += z * basis[a * d + j] + 3;
    }
  }
  return x;
}

describe('t-SNE', () => {
  it('the GPU step (Z, gradient, gains, momentum, centring) matches the float64 reference', async () => {
    const rt = await gpu();
    const n = 37;
    const x = clustered(n, 6, 3, 5);
    const d2 = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let p = 0; p < 6; p++) d2[i * n + j] += (x[i * 6 + p] - x[j * 6 + p]) ** 2;
    const { p } = jointProbabilities(d2, n, 8);
    // Spread-out start points so the forces are not all tiny.
    const y0 = randomArray(2 * n, 9, 2);
    const s = tsneState(rt, p, y0);
    const r: ref.RefTsneState = { y: Float64Array.from(y0), gains: new Float64Array(2 * n).fill(1), iy: new Float64Array(2 * n) };
    try {
      for (let t = 0; t < 3; t++) {
        const sched = tsneSchedule(t, { learningRate: 50 });
        tsneStep(s, sched);
        ref.tsneStep(r, p, n, sched);
      }
      expectClose(await s.y.read(), r.y, TSNE_STEP_TOL, [n, 2], 'y after 3 steps');
      expectClose(await s.gains.read(), r.gains, TSNE_STEP_TOL, [n, 2], 'gains');
    } finally {
      s.dispose();
    }
  });

  it('folds its per-point grid (200 points, runtime folding at 3 workgroups per axis)', async () => {
    const rt = await Runtime.create({ maxWorkgroupsPerDimension: 3 });
    const n = 200;
    const p = new Float32Array(n * n).fill(1 / (n * (n - 1)));
    const y0 = randomArray(2 * n, 13, 3);
    const s = tsneState(rt, p, y0);
    try {
      const sched = tsneSchedule(0, { learningRate: 20 });
      tsneStep(s, sched);
      const r: ref.RefTsneState = { y: Float64Array.from(y0), gains: new Float64Array(2 * n).fill(1), iy: new Float64Array(2 * n) };
      ref.tsneStep(r, p, n, sched);
      expectClose(await s.y.read(), r.y, TSNE_STEP_TOL, [n, 2], 'folded step');
    } finally {
      s.dispose();
      rt.destroy();
    }
  });

  it('calibrates each row to the perplexity and gives a symmetric P summing to 1', () => {
    const n = 40;
    const x = clustered(n, 5, 4, 2);
    const d2 = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let q = 0; q < 5; q++) d2[i * n + j] += (x[i * 5 + q] - x[j * 5 + q]) ** 2;
    const { p, betas, entropyError } = jointProbabilities(d2, n, 7);
    expect(entropyError).toBeLessThan(1e-5);
    // Recompute H(P_i) for row 0 from its beta.
    const row = Array.from({ length: n }, (_, j) => (j === 0 ? 0 : Math.exp(-betas[0] * d2[j])));
    const sum = row.reduce((a, b) => a + b, 0);
    const h = -row.reduce((a, v) => a + (v > 0 ? (v / sum) * Math.log(v / sum) : 0), 0);
    expect(Math.abs(h - Math.log(7))).toBeLessThan(1e-4);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(p[i * n + j]).toBe(p[j * n + i]);
    expect(() => jointProbabilities(d2, n, 40)).toThrow(/perplexity must be in \(0, N - 1 = 39\], got 40/);
  });

  it('keeps neighbourhoods of clustered data (trustworthiness >= 0.9 at k = 10) and is reproducible per seed', async () => {
    const rt = await gpu();
    const [n, d] = [120, 10];
    const x = clustered(n, d, 6, 3);
    const opts = { perplexity: 15, iterations: 300, learningRate: 100, seed: 4 };
    const a = await tsne(rt, x, n, d, opts);
    const b = await tsne(rt, x, n, d, opts);
    const tw = ref.trustworthiness(x, d, a.coords, 2, n, 10);
    console.log(`t-SNE N=${n}: trustworthiness ${tw.toFixed(4)}, ${a.msPerIteration.toFixed(2)} ms per iteration`);
    expect(tw).toBeGreaterThanOrEqual(0.9);
    expect(Array.from(b.coords)).toEqual(Array.from(a.coords));
    const c = await tsne(rt, x, n, d, { ...opts, iterations: 20, seed: 5 });
    expect(Array.from(c.coords)).not.toEqual(Array.from(tsneInit(n, 5)));
  });
});

describe('PCA', () => {
  it.each([
    ['covariance (D <= N)', 80, 12],
    ['Gram trick (D > N)', 20, 60],
  ] as const)('%s: the top-2 subspace matches a float64 Jacobi eigendecomposition', async (_name, n, d) => {
    const rt = await gpu();
    const x = anisotropic(n, d, [5, 3, 1, 0.5], 8);
    const got = await pca(rt, x, n, d, 2);
    expect(got.method).toBe(d > n ? 'gram' : 'covariance');
    const e = refPca.jacobiEigen(refPca.covariance(x, n, d), d);
    const want = new Float64Array(2 * d);
    for (let c = 0; c < 2; c++) for (let j = 0; j < d; j++) want[c * d + j] = e.vectors[j * d + c];
    const sine = refPca.subspaceSine(got.components, want, 2, d);
    expect(sine).toBeLessThan(SUBSPACE_SINE);
    expectClose(got.variance, e.values.slice(0, 2), { atol: 1e-4, rtol: 1e-3 }, [2], 'variances');
    // Coordinates: the centred data projected on the components, variance = the eigenvalue.
    const v0 = Array.from({ length: n }, (_, i) => got.coords[2 * i] ** 2).reduce((s, v) => s + v, 0) / (n - 1);
    expect(v0).toBeCloseTo(e.values[0], 2);
  });

  it('names bad component counts', async () => {
    const rt = await gpu();
    await expect(pca(rt, new Float32Array(12), 4, 3, 4)).rejects.toThrow(/components must be in \[1, min\(N, D\) = 3\], got 4/);
  });
});

describe('mosaic grid', () => {
  it('puts every point in its own cell, near its position', () => {
    const n = 50;
    const coords = randomArray(2 * n, 12);
    const cells = snapToGrid(coords, n, 8, 7);
    expect(new Set(cells).size).toBe(n);
    expect(cells.every((c) => c >= 0 && c < 56)).toBe(true);
    // The extreme-x point lands in an edge column.
    let right = 0;
    for (let i = 1; i < n; i++) if (coords[2 * i] > coords[2 * right]) right = i;
    expect(cells[right] % 8).toBeGreaterThanOrEqual(6);
    expect(() => snapToGrid(coords, n, 7, 7)).toThrow(/a 7 x 7 grid has fewer cells than 50 points/);
  });

  it('large maps (past 4e6 point-cell pairs) go point by point, still one point per cell', () => {
    const n = 2100;
    const cells = snapToGrid(randomArray(2 * n, 14), n, 46, 46);
    expect(new Set(cells).size).toBe(n);
    expect(Math.min(...cells)).toBeGreaterThanOrEqual(0);
  });
});

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHARED = join(ROOT, process.env.CNNVIS_SHARED ?? '../shared');

describe('embed technique (TinyVGG, its 20 samples)', () => {
  it('maps the gallery by PCA and t-SNE: (N, 2) coordinates, a mosaic without overlaps, a class scatter', async () => {
    const model = await loadModel(await gpu(), join(ROOT, 'weights', 'tinyvgg'));
    try {
      const base = { ...defaultOptions(embed), gallery: join(SHARED, 'models', 'tinyvgg', 'samples'), cache: 'off', iterations: 60 };
      for (const method of ['pca', 'tsne'] as const) {
        const r = await embed.run({ model }, { ...base, method });
        const p = embed.present(r, { model });
        expect(p.raw.shape).toEqual([20, 2]);
        expect(p.raw.data.every(Number.isFinite)).toBe(true);
        expect(new Set(r.cells).size).toBe(20);
        expect(p.views.map((v) => v.suffix)).toEqual(['', 'scatter']);
        expect([p.views[0].image.width, p.views[0].image.height]).toEqual([5 * 32, 4 * 32]);
        const points = p.summary.points as { file: string; class: string }[];
        expect(points[0].class).toBe('boat');
        if (method === 'pca') expect((p.summary.explained as number[])[0]).toBeGreaterThan((p.summary.explained as number[])[1]);
        else expect(p.summary.perplexity).toBeCloseTo(19 / 3, 6);
      }
      expect(await fileClasses(['a/koala_2.jpeg', 'a/boat_1.jpeg', 'a/koala_1.jpeg'])).toEqual({ classOf: [1, 0, 1], classes: ['boat', 'koala'] });
    } finally {
      model.dispose();
    }
  });

  it('reads ImageNet classes from the samples table next to the gallery folder', async () => {
    const dir = join(SHARED, 'images', 'imagenet-samples');
    const c = await fileClasses([join(dir, 'n01443537_goldfish.JPEG'), join(dir, 'n01440764_tench.JPEG')]);
    expect(c).toEqual({ classOf: [1, 0], classes: ['tench', 'goldfish'] });
  });
});
