// The app, loaded by the page entry (main.ts): mounts <cnn-app> (declared in index.html), restores
// the view the URL describes and runs it, and exposes a small hook for end-to-end tests and the console:
//   await window.cnnvis.classifyUrl('/shared/images/imagenet-samples/n02123045_tabby.JPEG', 'squeezenet1_1')
//   await window.cnnvis.open('?technique=saliency&model=tinyvgg&image=boat_1')

import './cnn-app';
import { loseDevice, type Prediction } from './session';
import { setDefaultGallery } from '../engine/techniques/gallery_source';
import { sharedBase } from './sources';
import { reflectionStats } from '../engine/shader_reflection';

// Gallery techniques (neighbours, t-SNE, top patches) default to the shared ImageNet samples,
// listed by imagenet-samples.tsv (a page cannot list a folder).
setDefaultGallery(async () => {
  const base = `${sharedBase()}images/`;
  const res = await fetch(`${base}imagenet-samples.tsv`);
  if (!res.ok) throw new Error(`gallery: the default gallery list ${base}imagenet-samples.tsv: HTTP ${res.status}; give gallery= image URLs`);
  const rows = (await res.text()).trim().split('\n').slice(1);
  return rows.map((r) => `${base}imagenet-samples/${r.split('\t')[0]}`);
});

export interface CnnvisHook {
  /** Show that image in the app, classify it, and resolve with the top-5 the page printed. */
  classifyUrl(url: string, model?: string): Promise<Prediction[]>;
  /** Go to the view a query string describes and run it (as opening that link does). */
  open(search: string): Promise<void>;
  /** Destroy the GPU device, as a driver reset would (the page must recover). */
  loseDevice(): Promise<void>;
  /** Shader modules reflected so far: from the table generated ahead of time, and parsed in the page (wgsl_reflect). */
  shaderStats(): { pregenerated: number; parsed: number };
}

declare global {
  interface Window {
    cnnvis: CnnvisHook;
  }
}

const app = document.querySelector('cnn-app');
if (!app) throw new Error('index.html has no <cnn-app> element');

window.cnnvis = {
  async classifyUrl(url, model = 'squeezenet1_1') {
    const result = await app.show({ name: url.split('/').pop() ?? url, url }, model);
    return result.top;
  },
  async open(search) {
    history.pushState(null, '', `${location.pathname}${search}`);
    await app.applyView(search);
  },
  loseDevice,
  shaderStats: () => ({ ...reflectionStats }),
};

void app.applyView(location.search);
