// One Dawn GPU instance for both engines. TF.js's WebGPU backend finds its adapter through
// `navigator.gpu` (and registers itself only if that exists when it is imported); the engine's
// device.ts also prefers `navigator.gpu` when it is defined. Installing the instance there
// before either starts puts both on the same adapter.

import { SWIFTSHADER_ICD } from '../../engine/device';

let installed: GPU | null = null;
// Dawn instances must outlive anything made from them (see engine/device.ts): keep them referenced.
const instances: GPU[] = [];

/** Install `navigator.gpu` (and the WebGPU globals) from the `webgpu` package. Idempotent. */
export async function installNavigatorGpu(): Promise<GPU> {
  if (installed) return installed;
  const existing = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (existing) return (installed = existing);
  const fs = await import('node:fs');
  // No GPU driver configured: use SwiftShader, as engine/device.ts does.
  if (!process.env.VK_ICD_FILENAMES && fs.existsSync(SWIFTSHADER_ICD)) {
    const probe = (await import('webgpu')).create([]);
    instances.push(probe);
    const adapter = await probe.requestAdapter();
    if (!adapter) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  const mod = await import('webgpu');
  Object.assign(globalThis, mod.globals);
  const gpu = mod.create([]);
  instances.push(gpu);
  // Node 20 has no navigator; later Node versions define a read-only one.
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  return (installed = gpu);
}
