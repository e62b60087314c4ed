// Page side of the technique rows: per network and size (technique_cases.ts), each attribution
// technique and one optimization loop per technique, on our engine and on TF.js's WebGPU backend in
// this page, through the same calls as `npm run bench -- --techniques` (technique_plan.ts, over
// attribution_cases.ts / optvis_cases.ts and tf_techniques.ts / tf_optvis.ts). Wall time: every
// call ends with its result on the CPU, and a technique's own CPU work (Grad-CAM's resize, the
// loop's objective reads) is part of it, so GPU timestamps would leave some of it out.
//   attribution   ms per image (batch 1): warm-up call, median of repeats of --iters calls
//   optimization  ms per loop step: a loop of one step to warm up, then loops of `steps` steps
// Each row carries the counts it ran with (`counts`: SmoothGrad n, IG m, occlusion grid, batch; a
// loop's steps). On CPU adapters TF.js's side of a gradient through LRN (GoogLeNet) is skipped,
// with the reason in the row (technique_plan.ts tfjsSkip).

import { loadModel, type ModelSpec } from '../../../engine/index';
import type { BenchContext } from '../context';
import { attributionCalls, optvisCalls, techniqueId, techniqueTiming, tfModelAt, timeCall, type RateTiming, type TechniqueCall } from '../technique_plan';
import type { BrowserRow, EngineTiming, TechniqueCase } from './types';

function engineTiming(t: RateTiming): EngineTiming {
  if (t.ms === null) return { ms: null, wallMs: null, gpuMs: null, gflops: null, gbps: null, error: t.error };
  const s = t.samples ?? [t.ms];
  return { ms: t.ms, wallMs: t.ms, gpuMs: null, gflops: null, gbps: null, samples: s, spread: (Math.max(...s) - Math.min(...s)) / t.ms };
}

async function fetchNetwork(dir: string): Promise<{ spec: ModelSpec; weights: Uint8Array; file: string }> {
  const get = async (url: string) => {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`bench page: GET ${url} answered ${res.status}`);
    return res;
  };
  const file = `/weights/${dir}/weights.safetensors`;
  const spec = (await (await get(`/weights/${dir}/model.json`)).json()) as ModelSpec;
  return { spec, weights: new Uint8Array(await (await get(file)).arrayBuffer()), file };
}

/** Time every technique case, network by network (each loaded once), handing each row to `emit` as it is measured. */
export async function techniqueRows(
  ctx: BenchContext, cases: readonly TechniqueCase[], given: { iters?: number; repeats?: number }, emit: (row: BrowserRow) => Promise<void>,
): Promise<void> {
  for (const dir of new Set(cases.map((c) => c.dir))) {
    const { spec, weights, file } = await fetchNetwork(dir);
    const model = await loadModel(ctx.rt, { spec, weights, file });
    try {
      for (const c of cases.filter((k) => k.dir === dir)) {
        const timing = techniqueTiming({ quick: c.quick, iters: given.iters, repeats: given.repeats }, ctx.rt.kind, ctx.timing);
        const wanted = (item: string) => c.items.includes(item);
        const visit = async (call: TechniqueCall): Promise<void> => {
          if (!wanted(call.item)) return;
          const t = await timeCall(call);
          const per = call.unit === 'it/s' ? `ms/step, ${timing.steps}-step loops` : 'ms/image';
          await emit({
            kind: 'technique', id: techniqueId(c.network, call.item), family: c.group,
            direction: call.backward === false ? 'forward' : 'forward+backward', variant: 'default',
            shape: `(1, 3, ${c.size}, ${c.size}) ${per}`, batch: 1, flops: 0, bytes: 0,
            ours: engineTiming(t.ours), tfjs: t.tfjs && engineTiming(t.tfjs), ratio: t.ratio, how: call.how, counts: call.counts,
          });
        };
        const tfm = ctx.tf ? tfModelAt(ctx.tf.tf, spec, weights, c.size) : null;
        try {
          if (c.group === 'attribution') await attributionCalls(model, tfm, c.size, c.quick, timing.calls, visit);
          else await optvisCalls(model, tfm, c.size, timing.steps, timing.loops, visit, wanted);
        } finally {
          tfm?.net.dispose();
        }
      }
    } finally {
      model.dispose();
    }
  }
}
