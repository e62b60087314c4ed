// Grad-CAM's arithmetic on data (Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks
// via Gradient-based Localization", ICCV 2017, eq. 1-2), apart from the GPU work in gradcam.ts:
//
//   alpha_c = (1 / (H W)) sum_{y,x} dScore / dA_c(y, x)          (global-average-pooled gradients)
//   cam(y, x) = ReLU( sum_c alpha_c A_c(y, x) )                    (at the layer's resolution)
//
// then upsampled bilinearly to the input (display/image.ts resizeMap: half-pixel centres, edges
// clamped, as OpenCV's INTER_LINEAR that pytorch-grad-cam uses). Guided Grad-CAM multiplies the
// upsampled map into the guided-backprop gradient (3, H, W), pixel by pixel.

export interface CamResult {
  /** alpha_c per channel of the layer. */
  weights: Float64Array;
  /** ReLU(sum_c alpha_c A_c), (h, w) at the layer's resolution. */
  cam: Float32Array;
}

/** Grad-CAM of one sample: `a` and `da` hold (C, h, w) starting at `offset`. */
export function camFromGradients(a: ArrayLike<number>, da: ArrayLike<number>, c: number, h: number, w: number, offset = 0): CamResult {
  const hw = h * w;
  const weights = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let i = 0; i < hw; i++) s += da[offset + ch * hw + i];
    weights[ch] = s / hw;
  }
  const acc = new Float64Array(hw);
  for (let ch = 0; ch < c; ch++) for (let i = 0; i < hw; i++) acc[i] += weights[ch] * a[offset + ch * hw + i];
  return { weights, cam: Float32Array.from(acc, (v) => Math.max(v, 0)) };
}

/** Guided Grad-CAM: the guided gradient (C, H, W) times the upsampled map (H, W) at each pixel. */
export function guidedCam(guided: ArrayLike<number>, cam: ArrayLike<number>, c: number): Float32Array {
  const hw = cam.length;
  const out = new Float32Array(c * hw);
  for (let ch = 0; ch < c; ch++) for (let i = 0; i < hw; i++) out[ch * hw + i] = guided[ch * hw + i] * cam[i];
  return out;
}
