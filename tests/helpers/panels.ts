// Small settings per technique panel (flags as in the URL) so each runs in seconds on SwiftShader
// with TinyVGG: shared by the app's end-to-end tests.

/** A small gallery for the gallery panels: TinyVGG's ten samples. */
export const GALLERY = ['boat', 'bug', 'bus', 'car', 'espresso', 'koala', 'orange', 'panda', 'pepper', 'pizza'].map((n) => `/shared/models/tinyvgg/samples/${n}_1.jpeg`).join(',');
/** Small settings so each panel runs in seconds on SwiftShader (flags as in the URL). */
export const SMALL: Record<string, Record<string, string>> = {
  occlusion: { patch: '16', stride: '16' },
  smoothgrad: { samples: '4', batch: '4' },
  'integrated-gradients': { steps: '4', batch: '4' },
  faithfulness: { 'faith-steps': '8', batch: '8' },
  guided: { top: '0' },
  'gallery-features': { gallery: GALLERY, cache: 'off' },
  'top-patches': { gallery: GALLERY, cache: 'off', channels: '2', k: '4' },
  // The page's default gallery (the shared ImageNet samples), cut to a few images.
  neighbors: { limit: '8', cache: 'off', k: '3' },
  embed: { limit: '12', cache: 'off', method: 'pca' },
  'class-vis': { steps: '10' },
  // A channel's gradient is spread thin at 10 steps: a larger step (ImageNet-std units) makes a visible picture.
  'neuron-vis': { steps: '10', lr: '100' },
  fool: { steps: '20' },
  deepdream: { octaves: '2', steps: '4' },
  invert: { steps: '10' },
  texture: { steps: '10' },
  style: { steps: '10', 'style-image': '/shared/models/tinyvgg/samples/pizza_1.jpeg' },
};
