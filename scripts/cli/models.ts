// The models the command line knows and where their converted weights live (shared by classify
// and the technique subcommands).

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

export const MODELS = ['squeezenet1_1', 'googlenet', 'tinyvgg', 'alexnet', 'alexnet_caffe'] as const;
export type ModelName = (typeof MODELS)[number];

/** How to produce each model's converted weights. */
export const WEIGHTS_HINT: Record<ModelName, string> = {
  squeezenet1_1: 'run `npm run weights`',
  googlenet: 'run `npm run weights`',
  tinyvgg: 'run `npm run weights`',
  alexnet: 'run `npm run weights -- --download alexnet` (or `npm run weights -- --pth alexnet-owt-7be5be79.pth`)',
  alexnet_caffe: 'no pretrained BVLC AlexNet ships with cnnvis: convert the Caffe weights elsewhere into that folder (engine/models/alexnet.ts gives the spec)',
};

/** Checks a --model value. */
export function modelName(model: string | undefined): ModelName {
  if (model === undefined) throw new Error(`--model is required (${MODELS.join(', ')})`);
  if (!(MODELS as readonly string[]).includes(model)) throw new Error(`unknown model '${model}' (known: ${MODELS.join(', ')})`);
  return model as ModelName;
}

/** The folder holding the model's model.json, or an error saying how to produce it. */
export function modelDir(weights: string, model: ModelName): string {
  const dir = join(weights, model);
  if (!existsSync(join(dir, 'model.json')) || !existsSync(join(dir, 'weights.safetensors'))) {
    throw new Error(`no converted weights for ${model} in ${dir} (model.json and weights.safetensors); ${WEIGHTS_HINT[model]}`);
  }
  return dir;
}

export function positiveInt(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer, got ${v ?? 'nothing'}`);
  return n;
}
