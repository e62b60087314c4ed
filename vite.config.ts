import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';
import { shaderReflection } from './scripts/lib/reflect_shaders.js';
import { cnnvisData } from './scripts/serve.js';

// One config for the dev server / browser build (ui/) and for Vitest (tests/ in Node on Dawn).
export default defineConfig({
  root: '.',
  // /shared/ (images, labels from CNNVIS_SHARED, default ../shared) and /weights/ for the page;
  // every shader's reflection made ahead of time (engine/shader_reflection.ts), from the shaders as they are.
  plugins: [cnnvisData(), shaderReflection(fileURLToPath(new URL('.', import.meta.url)))],
  server: { host: '127.0.0.1', port: 5173, fs: { allow: ['..'] } },
  preview: { host: '127.0.0.1', port: 5173 },
  // A static site (index.html + assets) with relative asset URLs, so it deploys under any path;
  // the weights and sample images come from VITE_CNNVIS_WEIGHTS / VITE_CNNVIS_SHARED (see ui/sources.ts).
  base: './',
  build: { outDir: 'dist', target: 'es2022', chunkSizeWarningLimit: 1500 },
  test: {
    include: ['tests/**/*.test.ts'],
    pool: 'forks',
    // SwiftShader is a CPU adapter: GPU tests are slow-ish, so give them room but not forever.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: true,
    maxWorkers: 2,
  },
});
