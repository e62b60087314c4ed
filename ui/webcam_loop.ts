// Continuous webcam mode for the technique panels: open the camera, and run a callback on its
// current frame again and again, each frame taken when the previous run has finished (so a slow
// adapter drops frames instead of queueing them). No GPU state here: the callback goes through
// ui/session.ts like any run.

import type { RgbaImage } from '../engine/techniques/technique';
import { cameraMessage } from './cnn-image-picker';

/** Techniques fast enough to follow a webcam (one forward + backward, or one forward, per frame). */
export const WEBCAM_TECHNIQUES: ReadonlySet<string> = new Set(['saliency', 'gradcam', 'guided', 'activations']);

export class WebcamLoop {
  private stream: MediaStream | null = null;
  private video: HTMLVideoElement | null = null;
  /** One canvas the frames are grabbed through (a new one per frame would churn memory at camera rate). */
  private canvas: HTMLCanvasElement | null = null;
  private running = false;
  /** Bumped by every stop(): a start() whose number is no longer this one was stopped (maybe while the camera was opening). */
  private generation = 0;
  /** Frames processed since start(). */
  frames = 0;

  get active(): boolean {
    return this.running;
  }

  /** The camera's current frame as RGBA (null before the first frame arrives). */
  private grab(): RgbaImage | null {
    const v = this.video;
    if (!v || !v.videoWidth) return null;
    const c = (this.canvas ??= document.createElement('canvas'));
    if (c.width !== v.videoWidth) c.width = v.videoWidth;
    if (c.height !== v.videoHeight) c.height = v.videoHeight;
    const ctx = c.getContext('2d', { willReadFrequently: true })!;
    ctx.drawImage(v, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height);
    return { width: d.width, height: d.height, rgba: d.data };
  }

  /**
   * Open the camera and call `onFrame` on frame after frame until stop(), and `onCount` with the
   * number of frames processed after each; rejects with a message that says what to do when the
   * camera cannot be opened, or with onFrame's own error. A stop() while the camera is still
   * opening (a permission prompt) closes it as soon as it opens, and start() resolves.
   */
  async start(onFrame: (img: RgbaImage) => Promise<void>, onCount?: (frames: number) => void): Promise<void> {
    this.stop();
    const generation = this.generation;
    let stream: MediaStream;
    try {
      if (!navigator.mediaDevices?.getUserMedia) throw Object.assign(new Error('this browser offers no camera access here (it needs https or http://127.0.0.1)'), { name: 'TypeError' });
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
    } catch (e) {
      throw new Error(cameraMessage(e));
    }
    if (generation !== this.generation) {
      for (const t of stream.getTracks()) t.stop();
      return;
    }
    this.stream = stream;
    const video = (this.video = document.createElement('video'));
    video.muted = true;
    video.playsInline = true;
    video.srcObject = stream;
    await video.play();
    if (generation !== this.generation) return; // stopped meanwhile: stop() closed the stream
    this.running = true;
    this.frames = 0;
    try {
      while (this.running && generation === this.generation) {
        const img = this.grab();
        if (img) {
          await onFrame(img);
          this.frames++;
          onCount?.(this.frames);
        }
        await new Promise((r) => setTimeout(r, img ? 0 : 50)); // a macrotask between frames: the page stays responsive
      }
    } finally {
      // A later start() owns the camera now: leave it alone.
      if (generation === this.generation) this.stop();
    }
  }

  stop(): void {
    this.generation++;
    this.running = false;
    this.stream?.getTracks().forEach((t) => t.stop());
    this.stream = null;
    if (this.video) this.video.srcObject = null;
    this.video = null;
  }
}
