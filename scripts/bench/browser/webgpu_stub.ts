// The benchmark page's stand-in for the `webgpu` package (Dawn for Node): scripts/bench/gpu.ts
// imports it only when there is no navigator.gpu, which a WebGPU page always has.
export function create(): never {
  throw new Error('bench page: the webgpu (Dawn) package is Node-only; this browser has no navigator.gpu (start Chromium with --enable-unsafe-webgpu)');
}
export const globals = {};
