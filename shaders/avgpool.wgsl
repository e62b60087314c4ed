// Average pooling forward: Caffe AVE pooling / PyTorch AvgPool2d, and PyTorch AdaptiveAvgPool2d
// (global average pooling is the adaptive case with a 1x1 output). For each output (n, c, oh, ow):
//   y = sum of x over the window rows [h_lo, h_hi) x columns [w_lo, w_hi) / divisor
// Windows along one axis (input size L, output size OL), by params.adaptive:
//   0 (strided)  start = o * s - pad_0,  end = min(start + k, L + pad_1);  [lo, hi) = [start, end)
//                clipped to [0, L). Divisor with count_pad = 1 (Caffe, PyTorch default): the
//                window clipped to the *padded* input, (end - start) per axis; with count_pad = 0
//                the number of input cells, (hi - lo) per axis.
//   1 (adaptive) lo = floor(o * L / OL), hi = ceil((o + 1) * L / OL); divisor (hi - lo) per axis.
// The op guarantees every window holds at least one input cell.
//
// x: (N, C, H, W); y: (N, C, OH, OW); both may be channel views: element i of sample n of
// tensor t lives at t_base + n * t_stride + i.
//
// Bindings: 0 params (uniform), 1 x (read), 2 y (read_write).
// Dispatch: one invocation per output element of a sample, per_sample = C * OH * OW of them;
//   workgroups along x fold into y past 65535 (i = gid.x + gid.y * nwg.x * WG); the sample n is
//   gid.z. No workgroup memory: each invocation sums its window directly.

struct Params {
  per_sample: u32,   // C * OH * OW
  h: u32, w: u32,
  oh: u32, ow: u32,
  kh: i32, kw: i32,
  sh: i32, sw: i32,
  pad_t: i32, pad_b: i32, pad_l: i32, pad_r: i32,
  adaptive: u32,
  count_pad: u32,
  x_base: u32, x_stride: u32,
  y_base: u32, y_stride: u32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// One axis of a window: input cells [lo, hi), and the extent that divides when padding counts.
struct Win { lo: i32, hi: i32, extent: i32 }

fn window(o: i32, len: i32, out_len: i32, k: i32, s: i32, pad_0: i32, pad_1: i32) -> Win {
  if (params.adaptive != 0u) {
    let lo = (o * len) / out_len;
    let hi = ((o + 1) * len + out_len - 1) / out_len;
    return Win(lo, hi, hi - lo);
  }
  let start = o * s - pad_0;
  let end = min(start + k, len + pad_1);
  return Win(max(start, 0), min(end, len), end - start);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.per_sample) { return; }
  let n = gid.z;
  let ow = i % params.ow;
  let oh = (i / params.ow) % params.oh;
  let c = i / (params.ow * params.oh);
  let w = i32(params.w);
  let wh = window(i32(oh), i32(params.h), i32(params.oh), params.kh, params.sh, params.pad_t, params.pad_b);
  let ww = window(i32(ow), w, i32(params.ow), params.kw, params.sw, params.pad_l, params.pad_r);
  let plane = params.x_base + n * params.x_stride + c * params.h * params.w;

  var sum = 0.0;
  for (var ih = wh.lo; ih < wh.hi; ih++) {
    for (var iw = ww.lo; iw < ww.hi; iw++) {
      sum += x[plane + u32(ih * w + iw)];
    }
  }
  var divisor = (wh.hi - wh.lo) * (ww.hi - ww.lo);
  if (params.count_pad != 0u) { divisor = wh.extent * ww.extent; }
  y[params.y_base + n * params.y_stride + i] = sum / f32(divisor);
}
