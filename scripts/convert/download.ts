// Downloads a file with fetch(), failing fast where there is no network: `timeoutMs` bounds the
// wait for the response headers and any stall between body chunks (not the whole transfer). The
// file is written to `${dest}.part` and renamed once complete (and, when given, once its SHA-256
// starts with `sha256Prefix`, as torchvision file names promise: alexnet-owt-<8 hex>.pth).

import { createHash } from 'node:crypto';
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

export const ALEXNET_URL = 'https://download.pytorch.org/models/alexnet-owt-7be5be79.pth';
export const ALEXNET_FILE = 'alexnet-owt-7be5be79.pth';

export async function download(url: string, dest: string, opts: { timeoutMs: number; sha256Prefix?: string; log?: (s: string) => void }): Promise<void> {
  const ctl = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ctl.abort(new Error(`no answer within ${opts.timeoutMs / 1000} s`)), opts.timeoutMs);
  };
  const part = `${dest}.part`;
  let fd: number | null = null;
  try {
    arm();
    const res = await fetch(url, { signal: ctl.signal });
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    const total = Number(res.headers.get('content-length') ?? 0);
    const hash = createHash('sha256');
    fd = openSync(part, 'w');
    let got = 0;
    let lastLog = 0;
    const reader = res.body.getReader();
    for (;;) {
      arm();
      const { done, value } = await reader.read();
      if (done) break;
      writeSync(fd, value);
      hash.update(value);
      got += value.length;
      if (opts.log && got - lastLog > 32 << 20) {
        lastLog = got;
        opts.log(`  ${(got / 2 ** 20).toFixed(0)} MiB${total ? ` of ${(total / 2 ** 20).toFixed(0)}` : ''}`);
      }
    }
    closeSync(fd);
    fd = null;
    if (total && got !== total) throw new Error(`got ${got} bytes, expected ${total}`);
    const digest = hash.digest('hex');
    if (opts.sha256Prefix && !digest.startsWith(opts.sha256Prefix)) throw new Error(`SHA-256 ${digest} does not start with ${opts.sha256Prefix}: corrupt download`);
    renameSync(part, dest);
  } catch (e) {
    if (fd !== null) closeSync(fd);
    rmSync(part, { force: true });
    const err = e as Error & { cause?: Error };
    const reason = ctl.signal.aborted ? (ctl.signal.reason as Error).message : err.cause?.message ?? err.message;
    throw new Error(`could not download ${url}: ${reason}`);
  } finally {
    clearTimeout(timer);
  }
}
