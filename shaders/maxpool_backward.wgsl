// Max pooling backward: dx(n, c, ih, iw) = sum of dy(n, c, oh, ow) over the output windows that
// contain (ih, iw) and whose argmax is ih * W + iw (see maxpool.wgsl for the window and argmax).
//
// A gather over input positions, so no two invocations write the same dx element and no atomics
// are needed: output window oh covers input rows [oh * sh - pad_t, oh * sh - pad_t + kh), so the
// windows that can hold row ih are
//   oh in [first, last],  first = 0 if ih + pad_t < kh else (ih + pad_t - kh) / sh + 1,
//                         last  = min((ih + pad_t) / sh, OH - 1),
// and likewise for columns: at most ceil(kh / sh) * ceil(kw / sw) candidates per element.
//
// dy, argmax: (N, C, OH, OW); dx: (N, C, H, W); all may be channel views (t_base, t_stride).
// argmax holds u32 bit patterns in float32 storage, bound as array<u32>.
//
// Bindings: 0 params (uniform), 1 dy (read), 2 argmax (read), 3 dx (read_write).
// Dispatch: one invocation per input element of a sample, per_sample = C * H * W of them;
//   workgroups along x fold into y past 65535; the sample n is gid.z. No workgroup memory.

struct Params {
  per_sample: u32,   // C * H * W
  h: u32, w: u32,
  oh: u32, ow: u32,
  kh: i32, kw: i32,
  sh: i32, sw: i32,
  pad_t: i32, pad_l: i32,
  dy_base: u32, dy_stride: u32,
  argmax_base: u32, argmax_stride: u32,
  dx_base: u32, dx_stride: u32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> argmax: array<u32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

// The first output index whose window (start o * s - pad, length k) reaches input index i.
fn first_window(i: i32, k: i32, s: i32, pad: i32) -> i32 {
  return select(0, (i + pad - k) / s + 1, i + pad >= k);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.per_sample) { return; }
  let n = gid.z;
  let iw = i32(i % params.w);
  let ih = i32((i / params.w) % params.h);
  let c = i / (params.w * params.h);
  let me = u32(ih) * params.w + u32(iw);
  let oh_hi = min((ih + params.pad_t) / params.sh, i32(params.oh) - 1);
  let ow_hi = min((iw + params.pad_l) / params.sw, i32(params.ow) - 1);
  let plane = c * params.oh * params.ow;
  let dy_plane = params.dy_base + n * params.dy_stride + plane;
  let am_plane = params.argmax_base + n * params.argmax_stride + plane;

  var acc = 0.0;
  for (var oh = first_window(ih, params.kh, params.sh, params.pad_t); oh <= oh_hi; oh++) {
    for (var ow = first_window(iw, params.kw, params.sw, params.pad_l); ow <= ow_hi; ow++) {
      let j = u32(oh) * params.ow + u32(ow);
      if (argmax[am_plane + j] == me) { acc += dy[dy_plane + j]; }
    }
  }
  dx[params.dx_base + n * params.dx_stride + i] = acc;
}
