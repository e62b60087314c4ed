// OpenCV's WebAssembly build (@techstark/opencv-js, 7.6 MB), loaded lazily, once per process or
// worker, by the technique that uses it (grabcut.ts in Node, its worker grabcut_worker.ts in a
// page); nothing else in cnnvis imports it.
//
//   - Node: CommonJS require() (createRequire) of the UMD file. The Node-only module name is built
//     at run time so the browser build leaves it alone.
//   - Page (a caller that loads it on the main thread): a classic <script> of the package's file, its URL from `new URL(..., import.meta.url)`
//     (Vite emits the file as an asset of its own), fetched only on first use, never part of the main
//     bundle; as a classic script the Emscripten glue runs in the sloppy mode it was written for (it
//     assigns an undeclared global) and sets `window.cv`.
//   - Worker (the page runs GrabCut in grabcut_worker.ts, so the half second of loading is not on
//     its main thread): a module worker cannot importScripts, so the file is fetched and run by an
//     indirect eval, which is global and sloppy as a classic script; it sets `self.cv` to the
//     module's factory there (the UMD wrapper's worker branch), which is called once.
//
// The module is the Emscripten module before its runtime has started: `Mat` and friends appear at
// onRuntimeInitialized. It has a `then` that calls back with the module itself, so it must never be
// awaited or resolved as a value, nor its import() namespace (which re-exports `then`): a thenable
// that resolves to itself spins forever. `loadOpenCv` waits through a callback and returns it wrapped.
//
// In Node the glue adds process-wide 'uncaughtException' / 'unhandledRejection' listeners (the
// latter aborts the wasm runtime on any unhandled rejection of the host); they are removed again
// right after loading.

/** A cv.Mat: call delete() on every one you create (its memory lives in the wasm heap). */
export interface CvMat {
  readonly rows: number;
  readonly cols: number;
  /** The pixels, a view into the wasm heap (valid until the Mat is deleted or the heap grows). */
  readonly data: Uint8Array;
  delete(): void;
}

/** The part of OpenCV's API that cnnvis uses. */
export interface OpenCv {
  Mat: { new (): CvMat; new (rows: number, cols: number, type: number): CvMat };
  Rect: new (x: number, y: number, width: number, height: number) => object;
  CV_8UC1: number;
  CV_8UC3: number;
  GC_BGD: number;
  GC_FGD: number;
  GC_PR_BGD: number;
  GC_PR_FGD: number;
  GC_INIT_WITH_MASK: number;
  grabCut(img: CvMat, mask: CvMat, rect: object, bgdModel: CvMat, fgdModel: CvMat, iterCount: number, mode: number): void;
}

/** The Emscripten module before (or after) its runtime has started. */
export interface EmscriptenModule {
  then?: (callback: (m: unknown) => void) => void;
  onRuntimeInitialized?: () => void;
  /** Called by the glue's abort() (a wasm that fails to compile or instantiate), before it throws. */
  onAbort?: (what: unknown) => void;
  Mat?: unknown;
}

let loading: Promise<{ cv: OpenCv }> | null = null;

const HOST_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

/** The bit of Node's `process` used here. */
interface HostProcess {
  versions?: { node?: string };
  listeners(event: string): ((...args: unknown[]) => void)[];
  removeListener(event: string, listener: (...args: unknown[]) => void): void;
}

/** OpenCV, ready to use (the first call loads and initializes it; later calls share that). */
export function loadOpenCv(): Promise<{ cv: OpenCv }> {
  loading ??= load().catch((e: unknown) => {
    loading = null;
    throw new Error(`could not load OpenCV (@techstark/opencv-js): ${e instanceof Error ? e.message : String(e)}`);
  });
  return loading;
}

async function load(): Promise<{ cv: OpenCv }> {
  const proc = typeof process === 'object' && typeof process.listeners === 'function' ? (process as unknown as HostProcess) : undefined;
  const before = new Map(HOST_EVENTS.map((ev) => [ev, new Set(proc?.listeners(ev) ?? [])]));
  const mod = proc?.versions?.node ? await requireInNode('@techstark/opencv-js') : inWorker() ? await scriptInWorker() : await scriptInBrowser();
  for (const ev of HOST_EVENTS) {
    for (const l of proc?.listeners(ev) ?? []) if (!before.get(ev)!.has(l)) proc!.removeListener(ev, l);
  }
  const m = (mod.default ?? mod) as EmscriptenModule;
  await whenReady(m);
  const cv = m as unknown as OpenCv;
  if (typeof cv.grabCut !== 'function') throw new Error('the module has no grabCut (a build without the imgproc module?)');
  return { cv };
}

/**
 * Resolves once the module's runtime has started; rejects when the runtime aborts first (its
 * WebAssembly fails to compile or instantiate: the glue then throws where no caller catches it),
 * so a caller, e.g. the page's GrabCut worker, reports the failure instead of waiting forever.
 */
export function whenReady(m: EmscriptenModule): Promise<void> {
  if (m.Mat) return Promise.resolve();
  return new Promise<void>((ready, failed) => {
    const oldAbort = m.onAbort;
    m.onAbort = (what) => {
      oldAbort?.(what);
      failed(new Error(`its WebAssembly runtime aborted before it started (${String(what)})`));
    };
    if (typeof m.then === 'function') m.then(() => ready());
    else {
      const old = m.onRuntimeInitialized;
      m.onRuntimeInitialized = () => {
        old?.();
        ready();
      };
    }
  });
}

/** The package's file, emitted by Vite as an asset of its own. */
function scriptUrl(): string {
  return new URL('../../node_modules/@techstark/opencv-js/dist/opencv.js', import.meta.url).href;
}

/** Running in a (dedicated, shared or service) worker. */
function inWorker(): boolean {
  return typeof document === 'undefined' && typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === 'function';
}

/** In a worker: the package's file fetched and run as a classic script would be; it defines `self.cv`. */
async function scriptInWorker(): Promise<{ default?: unknown }> {
  const g = globalThis as { cv?: unknown };
  if (g.cv === undefined) {
    const url = scriptUrl();
    const res = await fetch(url);
    if (!res.ok) throw new Error(`could not fetch ${url} (HTTP ${res.status})`);
    const text = await res.text();
    // Indirect eval: global scope, sloppy mode (the glue assigns an undeclared global).
    (0, eval)(`${text}\n//# sourceURL=${url}`);
    // In a worker the UMD wrapper leaves the module's factory, not the module.
    if (typeof g.cv === 'function') g.cv = (g.cv as () => unknown)();
  }
  return { default: g.cv };
}

/** The package's file as a classic script; it defines `globalThis.cv`. */
async function scriptInBrowser(): Promise<{ default?: unknown }> {
  const g = globalThis as { cv?: unknown };
  if (g.cv === undefined) {
    if (typeof document === 'undefined') throw new Error('no document to add a <script> to (OpenCV loads in a page, a worker or Node)');
    const url = scriptUrl();
    await new Promise<void>((loaded, failed) => {
      const script = document.createElement('script');
      script.src = url;
      script.async = true;
      script.onload = () => loaded();
      script.onerror = () => failed(new Error(`could not fetch ${url}`));
      document.head.appendChild(script);
    });
  }
  return { default: g.cv };
}

/** CommonJS require() in Node, without a static 'node:module' import the browser build would see. */
async function requireInNode(id: string): Promise<{ default?: unknown }> {
  const nodeModule = ['node', 'module'].join(':');
  const { createRequire } = (await import(/* @vite-ignore */ nodeModule)) as typeof import('node:module');
  // Wrapped: the module is a thenable that resolves to itself (see above).
  return { default: createRequire(import.meta.url)(id) as unknown };
}
