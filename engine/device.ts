// Adapter and device acquisition, in a browser (navigator.gpu) and in Node (the `webgpu` package,
// Dawn). On a Linux machine without a GPU, Node falls back to SwiftShader's Vulkan driver shipped
// with Debian's `chromium` package. When nothing works the error says what to install.

/** What kind of processor the adapter really is: kernels pick their variant from this. */
export type AdapterKind = 'cpu' | 'gpu';

export interface GpuHandle {
  device: GPUDevice;
  adapterInfo: { vendor: string; architecture: string; device: string; description: string };
  kind: AdapterKind;
  /**
   * Whether the device was created with 'timestamp-query'. Only the runtime's profiling mode
   * (rt.profile) writes timestamps; ordinary dispatches never do.
   */
  timestamps: boolean;
  /** Optional WebGPU features the device was created with (kernel variants are filtered on them). */
  features: DeviceFeatures;
  /** Set once the device is lost; every later call on the runtime reports it. */
  lostReason: string | null;
  /** Resolves when the device is lost (with the reason). */
  lost: Promise<string>;
}

export interface DeviceFeatures {
  /**
   * 'subgroups' is on: WGSL may `enable subgroups;` (subgroupAdd, ...). Requested whenever the
   * adapter has it, unless DeviceOptions.subgroups is false.
   */
  subgroups: boolean;
  /** The adapter's subgroup size range (adapter.info.subgroupMinSize / MaxSize), 0 when unknown. */
  subgroupMinSize: number;
  subgroupMaxSize: number;
}

export interface DeviceOptions {
  /** 'cpu' or 'gpu' to force a variant family regardless of the adapter. */
  kind?: AdapterKind;
  powerPreference?: GPUPowerPreference;
  /**
   * 'adapter' (default): request the adapter's full buffer and workgroup limits. 'default':
   * request none, so the device has the WebGPU spec defaults (e.g. maxStorageBufferBindingSize
   * 128 MiB, maxBufferSize 256 MiB), as many real adapters do; tests use it to prove kernels fit.
   */
  limits?: 'adapter' | 'default';
  /**
   * false: do not request 'subgroups' even when the adapter has it (as on adapters that lack it;
   * tests use it to check that subgroup variants are not offered). Default: request it when offered.
   */
  subgroups?: boolean;
}

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

const INSTALL_HINT =
  'No WebGPU adapter could be found. In Node on Linux without a GPU, install SwiftShader\'s Vulkan ' +
  'driver and loader with `apt-get install -y chromium libvulkan1` and run with ' +
  `VK_ICD_FILENAMES=${SWIFTSHADER_ICD}. In a browser, use one with WebGPU enabled ` +
  '(Chrome/Edge 113+, or Chromium with --enable-unsafe-webgpu) on a page served over https or ' +
  'http://127.0.0.1.';

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node;
}

// Dawn's instance must outlive every device made from it: if the GPU object were garbage
// collected, its threads would be torn down under live devices (a crash, not an error).
const liveInstances: GPU[] = [];

async function nodeGpu(): Promise<GPU> {
  // A variable specifier keeps bundlers from pulling Dawn into the browser build.
  const name = 'webgpu';
  const mod = (await import(/* @vite-ignore */ name)) as {
    create(flags: string[]): GPU;
    globals: Record<string, unknown>;
  };
  Object.assign(globalThis, mod.globals);
  const gpu = mod.create([]);
  liveInstances.push(gpu);
  return gpu;
}

async function nodeAdapter(pp?: GPUPowerPreference): Promise<GPUAdapter | null> {
  const adapter = await (await nodeGpu()).requestAdapter({ powerPreference: pp });
  if (adapter || process.env.VK_ICD_FILENAMES) return adapter;
  // No Vulkan driver Dawn accepts (Debian's lavapipe is too old): try SwiftShader from chromium.
  const fs = await import(/* @vite-ignore */ 'node:fs');
  if (!fs.existsSync(SWIFTSHADER_ICD)) return null;
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  return (await nodeGpu()).requestAdapter({ powerPreference: pp });
}

/** 'cpu' for software adapters (SwiftShader, llvmpipe, WARP, fallback adapters), else 'gpu'. */
export function adapterKind(info: GPUAdapterInfo): AdapterKind {
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  const fallback = (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  return fallback || /swiftshader|llvmpipe|lavapipe|warp|software/.test(text) ? 'cpu' : 'gpu';
}

/** Acquire an adapter and a device with the adapter's full buffer limits (or the spec defaults). */
export async function createGpu(options: DeviceOptions = {}): Promise<GpuHandle> {
  let adapter: GPUAdapter | null = null;
  if (typeof navigator !== 'undefined' && navigator.gpu) {
    adapter = await navigator.gpu.requestAdapter({ powerPreference: options.powerPreference });
  } else if (isNode()) {
    adapter = await nodeAdapter(options.powerPreference);
  }
  if (!adapter) throw new Error(INSTALL_HINT);

  const l = adapter.limits;
  const timestamps = adapter.features.has('timestamp-query');
  const subgroups = options.subgroups !== false && adapter.features.has('subgroups');
  const requiredFeatures: GPUFeatureName[] = [];
  if (timestamps) requiredFeatures.push('timestamp-query');
  if (subgroups) requiredFeatures.push('subgroups' as GPUFeatureName);
  const device = await adapter.requestDevice({
    label: 'cnnvis',
    requiredFeatures,
    requiredLimits: options.limits === 'default' ? {} : {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    },
  });
  const info = adapter.info;
  const sizes = info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  const handle: GpuHandle = {
    device,
    adapterInfo: {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
    },
    kind: options.kind ?? adapterKind(info),
    timestamps,
    features: {
      subgroups: subgroups && device.features.has('subgroups'),
      subgroupMinSize: subgroups ? sizes.subgroupMinSize ?? 0 : 0,
      subgroupMaxSize: subgroups ? sizes.subgroupMaxSize ?? 0 : 0,
    },
    lostReason: null,
    lost: device.lost.then((e) => {
      handle.lostReason = `${e.reason}: ${e.message}`;
      return handle.lostReason;
    }),
  };
  return handle;
}

/** A one-line description of the adapter for logs and benchmark tables, e.g. '... (cpu variants, subgroups 4)'. */
export function describeAdapter(h: GpuHandle): string {
  const i = h.adapterInfo;
  const parts = [i.vendor, i.architecture, i.description || i.device].filter((s) => s);
  const f = h.features;
  const sizes = f.subgroupMinSize === f.subgroupMaxSize ? `${f.subgroupMinSize}` : `${f.subgroupMinSize}-${f.subgroupMaxSize}`;
  const subgroups = f.subgroups ? `, subgroups${f.subgroupMaxSize ? ` ${sizes}` : ''}` : '';
  return `${parts.join(' / ') || 'unknown adapter'} (${h.kind} variants${subgroups})`;
}
