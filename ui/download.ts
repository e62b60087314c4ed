// Downloads: each view as PNG (engine/display's encodePng, the same bytes the CLI writes) and the
// raw result as float32 .npy (encodeNpy).

import { encodeNpy, encodePng } from '../engine/display/index';
import type { Presentation, View } from '../engine/techniques/technique';

/** `<stem>.<technique>[.<suffix>].<ext>`, as the CLI names its files. */
export function fileName(stem: string, technique: string, suffix: string, ext: string): string {
  return [stem || 'image', technique, suffix, ext].filter((s) => s).join('.');
}

export async function viewPng(view: View): Promise<Blob> {
  return new Blob([(await encodePng(view.image)) as Uint8Array<ArrayBuffer>], { type: 'image/png' });
}

export function rawNpy(raw: Presentation['raw']): Blob {
  return new Blob([encodeNpy(raw.data, raw.shape) as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' });
}

/** Hand a blob to the browser as a file download. */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
