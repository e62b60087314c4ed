// scripts/bench/read_floor.ts at a tiny size: every read kernel and the engine's linear read the
// whole matrix (their sums are checked inside against the CPU's, so a kernel that skipped loads
// would throw here), every case gets its repeats, and bad options fail naming the valid ones.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFloorArgs, runReadFloor } from '../scripts/bench/read_floor';
import { Runtime } from '../engine/runtime';

describe('read floor benchmark', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await Runtime.create();
  });
  afterAll(() => rt.destroy());

  it('times every read pattern, the engine linear and the CPU loop on a 256 x 256 matrix', async () => {
    const lines: string[] = [];
    const r = await runReadFloor(parseFloorArgs(['--out', '256', '--in', '256', '--reps', '2']), (s) => lines.push(s), rt);
    expect(r.rows.map((x) => x.case)).toEqual(['scalar-adjacent', 'vec4-adjacent', 'vec4-rows', `engine linear b1 (${r.linearVariant})`, 'CPU: JavaScript loop, one thread']);
    for (const row of r.rows) {
      expect(row.samples, row.case).toHaveLength(2);
      expect(row.ms, row.case).toBeGreaterThan(0);
      expect(row.gbPerS, row.case).toBeCloseTo((256 * 256 * 4) / (row.ms * 1e6), 9);
    }
    expect(lines[0]).toMatch(/^read floor: 256 x 256 floats \(0\.3 MiB\) read once per pass; /);
    expect(lines).toHaveLength(6);
  });

  it('rejects bad options, naming them', () => {
    expect(() => parseFloorArgs(['--out', '100'])).toThrow(/--out must be a multiple of 64.*got 100/);
    expect(() => parseFloorArgs(['--in', '30'])).toThrow(/--in must be a multiple of 32.*got 30/);
    expect(() => parseFloorArgs(['--out', '64', '--in', '32'])).toThrow(/multiple of 65536.*got 2048/);
    expect(() => parseFloorArgs(['--reps', 'x'])).toThrow(/--reps needs a positive integer, got 'x'/);
    expect(() => parseFloorArgs(['--fast'])).toThrow(/unknown option '--fast' \(valid: --out N, --in N, --reps R, --json\)/);
    expect(parseFloorArgs([])).toEqual({ out: 4096, in: 4096, reps: 7, json: false });
  });
});
