// Running the command line as a user does (vite-node scripts/cli.ts, i.e. `npm run cli`), for the
// CLI tests: exit code, stdout and stderr.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VITE_NODE = join(ROOT, 'node_modules', 'vite-node', 'dist', 'cli.mjs');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function cli(...args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [VITE_NODE, 'scripts/cli.ts', '--', ...args], { cwd: ROOT, maxBuffer: 1 << 26 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}
