// Max pooling forward (Caffe MAX pooling, PyTorch MaxPool2d). For each output (n, c, oh, ow):
//   window rows [oh * sh - pad_t, oh * sh - pad_t + kh) and columns [ow * sw - pad_l, ... + kw),
//   clipped to the input (padded cells never win, as in Caffe and PyTorch);
//   y      = max of x over the window
//   argmax = ih * W + iw of the maximum, the index inside the input channel plane.
// Ties: the first maximum in row-major window order wins (strict '>' scan, as Caffe and PyTorch).
// The op guarantees every window holds at least one input cell (pads < kernel, ceil-mode rule).
//
// x: (N, C, H, W); y and argmax: (N, C, OH, OW). All may be channel views: element i of sample n
// of tensor t lives at t_base + n * t_stride + i. argmax is a float32 tensor whose storage holds
// u32 bit patterns, bound here as array<u32>.
//
// Bindings: 0 params (uniform), 1 x (read), 2 y (read_write), 3 argmax (read_write).
// Dispatch: one invocation per output element of a sample, per_sample = C * OH * OW of them;
//   workgroups run along x and fold into y past 65535 (i = gid.x + gid.y * nwg.x * WG); the
//   sample n is gid.z. No workgroup memory: each invocation scans its kh * kw window directly;
//   neighbouring invocations read overlapping rows, which the caches serve.

struct Params {
  per_sample: u32,   // C * OH * OW
  h: u32, w: u32,    // input plane
  oh: u32, ow: u32,  // output plane
  kh: i32, kw: i32,
  sh: i32, sw: i32,
  pad_t: i32, pad_l: i32,
  x_base: u32, x_stride: u32,
  y_base: u32, y_stride: u32,
  argmax_base: u32, argmax_stride: u32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> argmax: array<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.per_sample) { return; }
  let n = gid.z;
  let ow = i % params.ow;
  let oh = (i / params.ow) % params.oh;
  let c = i / (params.ow * params.oh);
  let h = i32(params.h);
  let w = i32(params.w);
  let h0 = i32(oh) * params.sh - params.pad_t;
  let w0 = i32(ow) * params.sw - params.pad_l;
  let h_lo = max(h0, 0);
  let h_hi = min(h0 + params.kh, h);
  let w_lo = max(w0, 0);
  let w_hi = min(w0 + params.kw, w);
  let plane = params.x_base + n * params.x_stride + c * params.h * params.w;

  var at = u32(h_lo * w + w_lo);
  var best = x[plane + at];
  for (var ih = h_lo; ih < h_hi; ih++) {
    for (var iw = w_lo; iw < w_hi; iw++) {
      let j = u32(ih * w + iw);
      let v = x[plane + j];
      if (v > best) {
        best = v;
        at = j;
      }
    }
  }
  y[params.y_base + n * params.y_stride + i] = best;
  argmax[params.argmax_base + n * params.argmax_stride + i] = at;
}
