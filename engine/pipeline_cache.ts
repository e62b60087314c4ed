// Compute pipelines built from WGSL, with their bind-group layout and uniform-struct layout
// derived from the WGSL itself (shader_reflection.ts: reflected ahead of time for every shaders/
// file, so no WGSL is parsed on the page's main thread), cached by shader name + entry point +
// overrides. get() builds a missing pipeline synchronously; getAsync() with createComputePipelineAsync.

import { moduleReflection, type BindingInfo, type EntryInfo, type ModuleReflection } from './shader_reflection';

export type { BindingInfo, ScalarType, UniformMember } from './shader_reflection';

export interface ProgramSpec {
  /** Shader family name, e.g. 'conv2d'; used in labels and the cache key. */
  name: string;
  code: string;
  entryPoint?: string;
  /** Values for the shader's `override` constants. */
  constants?: Record<string, number>;
}

export interface Program {
  readonly label: string;
  /** Shader family name (ProgramSpec.name) and entry point, for errors and profiles. */
  readonly name: string;
  readonly entryPoint: string;
  /** Workgroup size with the override values applied. */
  readonly workgroupSize: readonly [number, number, number];
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  readonly bindings: readonly BindingInfo[];
}

/** What a spec resolves to before any GPU object exists: cache key, bindings, workgroup size. */
export interface ProgramPlan {
  key: string;
  name: string;
  entryPoint: string;
  constants: Record<string, number>;
  moduleKey: string;
  bindings: BindingInfo[];
  workgroupSize: [number, number, number];
}

/** The workgroup size with overrides applied: an argument naming a given override takes its value. */
function workgroupSize(e: EntryInfo, constants: Record<string, number>): [number, number, number] {
  const size: [number, number, number] = [...e.defaultSize];
  e.sizeArgs.forEach((a, i) => {
    if (i < 3 && constants[a.trim()] !== undefined) size[i] = constants[a.trim()];
  });
  return size;
}

export class PipelineCache {
  private programs = new Map<string, Program>();
  /** By the code string itself: a string keeps its hash, so a lookup does not rehash the WGSL. */
  private reflected = new Map<string, ModuleReflection>();
  private modules = new Map<string, GPUShaderModule>();
  private pending = new Map<string, Promise<Program>>();

  /** A small number per distinct code string (module keys stay short). */
  private codeIds = new Map<string, number>();

  constructor(private readonly device: GPUDevice) {}

  private codeId(code: string): number {
    let id = this.codeIds.get(code);
    if (id === undefined) this.codeIds.set(code, (id = this.codeIds.size));
    return id;
  }

  get size(): number {
    return this.programs.size;
  }

  /** Whether the pipeline of `spec` is already built. */
  has(spec: ProgramSpec): boolean {
    return this.programs.has(this.plan(spec).key);
  }

  /** Resolve a spec (reflection only, no GPU objects): its cache key, bindings and workgroup size. */
  plan(spec: ProgramSpec): ProgramPlan {
    const entryPoint = spec.entryPoint ?? 'main';
    const constants = spec.constants ?? {};
    const key = `${spec.name}:${entryPoint}:${Object.keys(constants)
      .sort()
      .map((k) => `${k}=${constants[k]}`)
      .join(',')}`;
    let info = this.reflected.get(spec.code);
    if (!info) {
      info = moduleReflection(spec.name, spec.code);
      this.reflected.set(spec.code, info);
    }
    const entry = Object.hasOwn(info, entryPoint) ? info[entryPoint] : undefined;
    if (!entry) {
      throw new Error(`${spec.name}.wgsl has no compute entry point '${entryPoint}' (has ${Object.keys(info).join(', ')})`);
    }
    // The module cache's key: the shader's name (its label) and a small number for its code.
    const moduleKey = `${spec.name}\u0000${this.codeId(spec.code)}`;
    return { key, name: spec.name, entryPoint, constants, moduleKey, bindings: entry.bindings, workgroupSize: workgroupSize(entry, constants) };
  }

  /** The pipeline of `spec`, built synchronously on a miss (the first use may stall a page). */
  get(spec: ProgramSpec): Program {
    const plan = this.plan(spec);
    const hit = this.programs.get(plan.key);
    if (hit) return hit;
    const { layout, descriptor } = this.describe(spec, plan);
    return this.store(plan, layout, this.device.createComputePipeline(descriptor));
  }

  /**
   * The pipeline of `spec`, built with createComputePipelineAsync on a miss so the page keeps
   * running while the driver compiles; concurrent requests for one key share one build.
   */
  getAsync(spec: ProgramSpec): Promise<Program> {
    const plan = this.plan(spec);
    const hit = this.programs.get(plan.key);
    if (hit) return Promise.resolve(hit);
    let pending = this.pending.get(plan.key);
    if (!pending) {
      const { layout, descriptor } = this.describe(spec, plan);
      pending = this.device
        .createComputePipelineAsync(descriptor)
        .then((pipeline) => this.programs.get(plan.key) ?? this.store(plan, layout, pipeline))
        .finally(() => this.pending.delete(plan.key));
      this.pending.set(plan.key, pending);
    }
    return pending;
  }

  private describe(spec: ProgramSpec, plan: ProgramPlan): { layout: GPUBindGroupLayout; descriptor: GPUComputePipelineDescriptor } {
    let module = this.modules.get(plan.moduleKey);
    if (!module) {
      module = this.device.createShaderModule({ label: `${spec.name}.wgsl`, code: spec.code });
      this.modules.set(plan.moduleKey, module);
    }
    const label = plan.key;
    const layout = this.device.createBindGroupLayout({
      label: `${label} layout`,
      entries: plan.bindings.map((b) => ({
        binding: b.binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: b.kind === 'uniform' ? 'uniform' : b.kind === 'read' ? 'read-only-storage' : 'storage' },
      })),
    });
    const descriptor: GPUComputePipelineDescriptor = {
      label,
      layout: this.device.createPipelineLayout({ label: `${label} pipeline layout`, bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: plan.entryPoint, constants: plan.constants },
    };
    return { layout, descriptor };
  }

  private store(plan: ProgramPlan, layout: GPUBindGroupLayout, pipeline: GPUComputePipeline): Program {
    const program: Program = {
      label: plan.key, name: plan.name, entryPoint: plan.entryPoint, workgroupSize: plan.workgroupSize, pipeline, layout, bindings: plan.bindings,
    };
    this.programs.set(plan.key, program);
    return program;
  }
}
