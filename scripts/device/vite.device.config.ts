import { defineConfig } from 'vite';

// Bundles Node scripts into self-contained .mjs files for the lent GPU machine, which has no npm:
// only `webgpu` (Dawn's native addon) stays external and travels beside the bundle.
export default defineConfig({
  build: {
    ssr: true,
    outDir: '.devicebin/dist',
    emptyOutDir: false,
    target: 'node20',
    minify: false,
    rollupOptions: { external: ['webgpu'], output: { format: 'es', entryFileNames: '[name].mjs', inlineDynamicImports: false } },
  },
  ssr: { noExternal: true, external: ['webgpu'] },
});
