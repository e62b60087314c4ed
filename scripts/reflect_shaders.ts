// npx vite-node scripts/reflect_shaders.ts [--check]
//
// Writes engine/shader_reflection.generated.ts: every shaders/*.wgsl reflected ahead of time (see
// scripts/lib/reflect_shaders.ts). --check writes nothing and exits 1 when the file is stale.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GENERATED_PATH, reflectionSource, shaderFiles } from './lib/reflect_shaders';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(ROOT, GENERATED_PATH);
const fresh = reflectionSource(ROOT);
const current = existsSync(target) ? readFileSync(target, 'utf8') : '';

if (process.argv.includes('--check')) {
  if (current !== fresh) {
    console.error(`${GENERATED_PATH} is stale: run \`npm run reflect\``);
    process.exit(1);
  }
  console.log(`${GENERATED_PATH} is up to date (${shaderFiles(ROOT).length} shaders)`);
} else if (current === fresh) {
  console.log(`${GENERATED_PATH} unchanged (${shaderFiles(ROOT).length} shaders)`);
} else {
  writeFileSync(target, fresh);
  console.log(`wrote ${GENERATED_PATH} (${shaderFiles(ROOT).length} shaders)`);
}
