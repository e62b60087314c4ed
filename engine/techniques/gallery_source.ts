// Where a gallery's images come from: a list of named byte sources. In Node a folder (its JPEG and
// PNG files, sorted by name), a list file (one path per line, relative to the list's folder, '#'
// comments), one image file, or '' for the default gallery: the 1000 ImageNet samples of the shared
// folder (CNNVIS_SHARED, default ../shared from the repository root). In a browser, URLs.

/** One gallery image: its name (a path or URL, as reported) and a way to read its bytes. */
export interface GalleryItem {
  name: string;
  read(): Promise<Uint8Array>;
}

const IMAGE_EXT = /\.(jpe?g|png)$/i;
const LIST_EXT = /\.(txt|lst|list)$/i;

export function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node;
}

/** node:fs/promises and node:path, loaded on demand (Node only). */
export async function nodeModules() {
  // Variable specifiers keep bundlers from pulling node:fs into the browser build.
  const fsName = 'node:fs/promises';
  const pathName = 'node:path';
  const fs = (await import(/* @vite-ignore */ fsName)) as typeof import('node:fs/promises');
  const path = (await import(/* @vite-ignore */ pathName)) as typeof import('node:path');
  return { fs, path };
}

/** The default gallery folder: <shared>/images/imagenet-samples, shared = CNNVIS_SHARED or ../shared from the repo root. */
export async function defaultGalleryDir(): Promise<string> {
  const { path } = await nodeModules();
  const root = decodeURIComponent(new URL('../../', import.meta.url).pathname);
  return path.resolve(root, process.env.CNNVIS_SHARED ?? '../shared', 'images', 'imagenet-samples');
}

function fileItem(fs: typeof import('node:fs/promises'), file: string): GalleryItem {
  return {
    name: file,
    async read() {
      try {
        return new Uint8Array(await fs.readFile(file));
      } catch (e) {
        throw new Error(`${file}: cannot read gallery image (${(e as Error).message})`);
      }
    },
  };
}

/**
 * Node: the gallery `spec` names ('' = the default gallery; a folder; a list file; an image file;
 * or several of these separated by commas), at most `limit` images (0 = all).
 */
export async function nodeGallery(spec: string, limit = 0): Promise<GalleryItem[]> {
  const { fs, path } = await nodeModules();
  const parts = spec.trim() === '' ? [await defaultGalleryDir()] : spec.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const files: string[] = [];
  for (const p of parts) {
    const st = await fs.stat(p).catch(() => null);
    if (!st) throw new Error(`gallery: '${p}' does not exist (give a folder of JPEG/PNG images, a list file with one path per line, or image files)`);
    if (st.isDirectory()) {
      const names = (await fs.readdir(p)).filter((f) => IMAGE_EXT.test(f)).sort();
      if (names.length === 0) throw new Error(`gallery: folder '${p}' has no .jpg, .jpeg or .png files`);
      files.push(...names.map((f) => path.join(p, f)));
    } else if (LIST_EXT.test(p)) {
      const lines = (await fs.readFile(p, 'utf8')).split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
      if (lines.length === 0) throw new Error(`gallery: list file '${p}' names no images`);
      files.push(...lines.map((l) => path.resolve(path.dirname(p), l)));
    } else {
      files.push(p);
    }
  }
  return (limit > 0 ? files.slice(0, limit) : files).map((f) => fileItem(fs, f));
}

/** Browser (or Node with fetch): images by URL. */
export function urlGallery(urls: readonly string[]): GalleryItem[] {
  return urls.map((url) => ({
    name: url,
    async read() {
      const r = await fetch(url);
      if (!r.ok) throw new Error(`${url}: cannot fetch gallery image (HTTP ${r.status})`);
      return new Uint8Array(await r.arrayBuffer());
    },
  }));
}

let browserDefault: (() => Promise<string[]>) | null = null;

/**
 * The gallery a page uses when no `gallery` is given (the app sets the shared ImageNet samples);
 * Node's default is the shared folder (nodeGallery('')).
 */
export function setDefaultGallery(urls: (() => Promise<string[]>) | null): void {
  browserDefault = urls;
}

/** The page's default gallery URLs, or [] when it has none. */
export function defaultGalleryUrls(): Promise<string[]> {
  return browserDefault ? browserDefault() : Promise.resolve([]);
}

