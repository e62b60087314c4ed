// Where the page finds its data: the converted weights and the sample images. Both bases are
// configurable so `npm run build` deploys anywhere:
//   - build time: VITE_CNNVIS_WEIGHTS (default '/weights/'), VITE_CNNVIS_SHARED (default '/shared/');
//   - run time: the `?weights=` and `?shared=` query parameters override them.
// An image is named in the URL by a shared sample's file stem ('n01443537_goldfish', 'boat_1')
// or by a URL.

/** An image the page can show: a sample on the server, or a local one (blob URL). */
export interface ImageChoice {
  /** What the caption says ('goldfish', 'boat_1', 'photo.jpg'). */
  name: string;
  url: string;
  /** The `image=` value that reproduces it in a link; absent for local files, pastes, webcam frames. */
  stem?: string;
}

const IMAGENET = ['n01443537_goldfish', 'n02056570_king_penguin', 'n02099601_golden_retriever', 'n01882714_koala',
  'n02279972_monarch', 'n02391049_zebra', 'n03662601_lifeboat', 'n07873807_pizza', 'n09472597_volcano', 'n11939491_daisy'];
const TINYVGG = ['boat_1', 'bug_1', 'bus_1', 'car_1', 'espresso_1', 'koala_1', 'orange_1', 'panda_1', 'pepper_1', 'pizza_1'];

function withSlash(s: string): string {
  return s.endsWith('/') ? s : `${s}/`;
}

function param(name: string): string | null {
  return typeof location === 'undefined' ? null : new URLSearchParams(location.search).get(name);
}

/** Base URL of the converted models (`<base><model>/model.json`). */
export function weightsBase(): string {
  return withSlash(param('weights') ?? (import.meta.env.VITE_CNNVIS_WEIGHTS as string | undefined) ?? '/weights/');
}

/** Base URL of the shared data folder (images/imagenet-samples/, models/tinyvgg/samples/). */
export function sharedBase(): string {
  return withSlash(param('shared') ?? (import.meta.env.VITE_CNNVIS_SHARED as string | undefined) ?? '/shared/');
}

function imagenetChoice(stem: string): ImageChoice {
  return { name: stem.slice(10).replace(/_/g, ' '), url: `${sharedBase()}images/imagenet-samples/${stem}.JPEG`, stem };
}

function tinyvggChoice(stem: string): ImageChoice {
  return { name: stem, url: `${sharedBase()}models/tinyvgg/samples/${stem}.jpeg`, stem };
}

/** The sample thumbnails offered for a model (TinyVGG has its own 10 classes). */
export function samplesFor(model: string): ImageChoice[] {
  return model === 'tinyvgg' ? TINYVGG.map(tinyvggChoice) : IMAGENET.map(imagenetChoice);
}

/**
 * The image an `image=` value names: an ImageNet sample stem (`n\d{8}_...`), another shared
 * sample's stem (TinyVGG's), or a URL (anything with a '/' or a scheme).
 */
export function resolveImage(value: string): ImageChoice {
  if (/^[a-z]+:|\//i.test(value)) return { name: value.split('/').pop() || value, url: value, stem: value };
  if (/^n\d{8}_/.test(value)) return imagenetChoice(value);
  return tinyvggChoice(value);
}
