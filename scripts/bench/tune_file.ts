// Node's autotune cache (engine/autotune.ts): the TuneFile as JSON on disk, results/autotune.json
// by default. A missing file reads as empty; a corrupt one too, with a warning naming the file.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseTuneFile, type TuneStore } from '../../engine/autotune';

export const DEFAULT_TUNE_FILE = join(process.cwd(), 'results', 'autotune.json');

export function jsonFileStore(path = DEFAULT_TUNE_FILE, warn: (s: string) => void = console.warn): TuneStore {
  return {
    load: () => parseTuneFile(existsSync(path) ? readFileSync(path, 'utf8') : null, (why) => warn(`${path}: ${why}`)),
    save(f) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, JSON.stringify(f, null, 2) + '\n');
    },
  };
}
