// Page entry: mounts <cnn-app> (declared in index.html) and exposes a small hook for end-to-end
// tests and the console:
//   await window.cnnvis.classifyUrl('/shared/images/imagenet-samples/n02123045_tabby.JPEG', 'squeezenet1_1')
// shows that image in the app, classifies it, and resolves with the top-5 the page printed.

import './cnn-app';
import type { Prediction } from './session';

export interface CnnvisHook {
  classifyUrl(url: string, model?: string): Promise<Prediction[]>;
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
};
