// `npm run weights` end to end, as a child process: a real conversion into a temp dir, and
// `--download alexnet` failing fast and clearly when the network does not answer.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSafetensors, readTensorF32 } from '../engine/models/safetensors';
import { convertTfjs } from '../scripts/convert/tfjs';
import { expectClose } from './helpers/close';

const ROOT = resolve(__dirname, '..');
const SHARED = resolve(ROOT, '../shared');
const tmp = mkdtempSync(join(tmpdir(), 'cnnvis-weights-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number | null; out: string; err: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((done) => {
    const p = spawn(join(ROOT, 'node_modules/.bin/vite-node'), ['scripts/weights.ts', '--', ...args], { cwd: ROOT });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => done({ code, out, err, ms: Date.now() - t0 }));
  });
}

describe('npm run weights', () => {
  it('converts TinyVGG to F16 safetensors + model.json and prints a summary line', async () => {
    const out = join(tmp, 'w');
    const r = await run(['--shared', SHARED, '--out', out, '--only', 'tinyvgg', '--f16']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^tinyvgg: 10 tensors, 19,920 params, [\d,]+ bytes \(F16\) -> /m);
    expect(existsSync(join(out, 'squeezenet1_1'))).toBe(false);
    const st = parseSafetensors(readFileSync(join(out, 'tinyvgg/weights.safetensors')), 'tinyvgg');
    const ref = convertTfjs(join(SHARED, 'models/tinyvgg/model.json'));
    expect(JSON.parse(readFileSync(join(out, 'tinyvgg/model.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(ref.spec)));
    for (const t of ref.tensors) {
      expect(st.entries.get(t.name)).toMatchObject({ dtype: 'F16', shape: t.shape });
      expectClose(readTensorF32(st, t.name), t.data, { atol: 2 ** -24, rtol: 2 ** -11 }, t.shape, t.name);
    }
  });

  it('fails with exit code 1 on an unknown model or argument', async () => {
    const [r, a] = await Promise.all([run(['--shared', SHARED, '--out', join(tmp, 'x'), '--only', 'resnet50']), run(['--frobnicate'])]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/weights: --only: no model named resnet50 under /);
    expect(a.code).toBe(1);
    expect(a.err).toMatch(/weights: unknown argument '--frobnicate'\nusage: npm run weights/);
  });

  describe('--download alexnet without a network', () => {
    const sockets: Socket[] = [];
    let server: Server;
    afterAll(() => {
      sockets.forEach((s) => s.destroy());
      server?.close();
    });

    it('times out on a host that never answers, and says what to do', async () => {
      // Accepts connections and never answers: what a filtered network looks like to fetch().
      server = createServer((s) => void sockets.push(s));
      await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
      const port = (server.address() as { port: number }).port;
      const out = join(tmp, 'dl');
      const r = await run(['--out', out, '--only', 'alexnet', '--download', 'alexnet', '--url', `http://127.0.0.1:${port}/alexnet-owt-7be5be79.pth`, '--timeout', '1']);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/could not download http:\/\/127\.0\.0\.1:\d+\/alexnet-owt-7be5be79\.pth: no answer within 1 s/);
      expect(r.err).toMatch(/Download alexnet-owt-7be5be79\.pth elsewhere \(https:\/\/download\.pytorch\.org\/models\/alexnet-owt-7be5be79\.pth\)/);
      expect(r.err).toMatch(/npm run weights -- --only alexnet --pth \/path\/to\/alexnet-owt-7be5be79\.pth/);
      expect(r.ms).toBeLessThan(15_000);
      expect(existsSync(join(out, 'alexnet-owt-7be5be79.pth.part'))).toBe(false);
    });

    it('fails at once when the connection is refused', async () => {
      const closed = createServer();
      await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
      const port = (closed.address() as { port: number }).port;
      await new Promise((ok) => closed.close(ok));
      const r = await run(['--out', join(tmp, 'dl2'), '--only', 'alexnet', '--download', 'alexnet', '--url', `http://127.0.0.1:${port}/a.pth`]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/could not download http:\/\/127\.0\.0\.1:\d+\/a\.pth: connect ECONNREFUSED/);
      expect(r.err).toMatch(/--pth/);
    });
  });
});
