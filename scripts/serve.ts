// Data routes for the page's dev server (a Vite plugin, registered in vite.config.ts). Vite serves
// the repository root (index.html, ui/, engine/) on 127.0.0.1; this adds two read-only routes:
//   /shared/...   files under the shared data folder (CNNVIS_SHARED, default ../shared): images
//                 and labels; nothing outside that folder is reachable.
//   /weights/...  converted models in weights/ (Vite would serve them from the root anyway; the
//                 route makes the content types and 404s explicit).
//
// `npm run dev` serves the page with them; tests/helpers/browser.ts starts the same server in-process;
// `npm start` (scripts/start.sh) serves the built site (dist/) with them through `vite preview`.

import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, resolve, sep } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Plugin } from 'vite';

/** The shared data folder (images, original models): CNNVIS_SHARED or ../shared from `root`. */
export function sharedDir(root: string): string {
  return resolve(root, process.env.CNNVIS_SHARED ?? '../shared');
}

const TYPES: Record<string, string> = {
  '.jpeg': 'image/jpeg',
  '.jpg': 'image/jpeg',
  '.png': 'image/png',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.tsv': 'text/tab-separated-values; charset=utf-8',
  '.safetensors': 'application/octet-stream',
  '.bin': 'application/octet-stream',
};

/** Serve files under `root` at URL prefix `prefix` (e.g. '/shared/'); refuses paths that escape it. */
function staticRoute(prefix: string, root: string) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (!url.pathname.startsWith(prefix)) return next();
    const file = resolve(root, '.' + sep + decodeURIComponent(url.pathname.slice(prefix.length)));
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end(`not found: ${url.pathname}`);
      return;
    }
    res.setHeader('Content-Type', TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream');
    res.setHeader('Content-Length', String(statSync(file).size));
    res.setHeader('Cache-Control', 'no-cache');
    createReadStream(file).pipe(res);
  };
}

/**
 * Vite plugin: the /shared/ and /weights/ routes, ahead of Vite's own middleware, on the dev server
 * (`npm run dev`) and on the preview server that `npm start` uses to serve the built dist/.
 */
export function cnnvisData(): Plugin {
  return {
    name: 'cnnvis-data',
    configureServer(server) {
      server.middlewares.use(staticRoute('/shared/', sharedDir(server.config.root)));
      server.middlewares.use(staticRoute('/weights/', resolve(server.config.root, 'weights')));
    },
    configurePreviewServer(server) {
      server.middlewares.use(staticRoute('/shared/', sharedDir(server.config.root)));
      server.middlewares.use(staticRoute('/weights/', resolve(server.config.root, 'weights')));
    },
  };
}
