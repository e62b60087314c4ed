// Average pooling backward (strided and adaptive; windows and divisors as in avgpool.wgsl):
//   dx(n, c, ih, iw) = sum over the output windows (oh, ow) containing (ih, iw) of
//                      dy(n, c, oh, ow) / divisor(oh, ow)
// A gather over input positions (no atomics). The windows containing input index i along an
// axis form a range [first, last]:
//   strided  first = 0 if i + pad_0 < k else (i + pad_0 - k) / s + 1,
//            last  = min((i + pad_0) / s, OL - 1)
//   adaptive first = floor(i * OL / L), last = ceil((i + 1) * OL / L) - 1
//
// dy: (N, C, OH, OW); dx: (N, C, H, W); both may be channel views (t_base, t_stride).
//
// Bindings: 0 params (uniform), 1 dy (read), 2 dx (read_write).
// Dispatch: one invocation per input element of a sample, per_sample = C * H * W of them;
//   workgroups along x fold into y past 65535; the sample n is gid.z. No workgroup memory.

struct Params {
  per_sample: u32,   // C * H * W
  h: u32, w: u32,
  oh: u32, ow: u32,
  kh: i32, kw: i32,
  sh: i32, sw: i32,
  pad_t: i32, pad_b: i32, pad_l: i32, pad_r: i32,
  adaptive: u32,
  count_pad: u32,
  dy_base: u32, dy_stride: u32,
  dx_base: u32, dx_stride: u32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

// One axis of a window, as in avgpool.wgsl: input cells [lo, hi) and the padded extent.
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

// The output windows [first, last] that contain input index i along one axis.
fn windows_of(i: i32, len: i32, out_len: i32, k: i32, s: i32, pad_0: i32) -> vec2i {
  if (params.adaptive != 0u) {
    return vec2i((i * out_len) / len, ((i + 1) * out_len + len - 1) / len - 1);
  }
  let first = select(0, (i + pad_0 - k) / s + 1, i + pad_0 >= k);
  return vec2i(first, min((i + pad_0) / s, out_len - 1));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.per_sample) { return; }
  let n = gid.z;
  let iw = i32(i % params.w);
  let ih = i32((i / params.w) % params.h);
  let c = i / (params.w * params.h);
  let h = i32(params.h);
  let w = i32(params.w);
  let oh_len = i32(params.oh);
  let ow_len = i32(params.ow);
  let rows = windows_of(ih, h, oh_len, params.kh, params.sh, params.pad_t);
  let cols = windows_of(iw, w, ow_len, params.kw, params.sw, params.pad_l);
  let dy_plane = params.dy_base + n * params.dy_stride + c * params.oh * params.ow;

  var acc = 0.0;
  for (var oh = rows.x; oh <= rows.y; oh++) {
    let wh = window(oh, h, oh_len, params.kh, params.sh, params.pad_t, params.pad_b);
    for (var ow = cols.x; ow <= cols.y; ow++) {
      let ww = window(ow, w, ow_len, params.kw, params.sw, params.pad_l, params.pad_r);
      var divisor = (wh.hi - wh.lo) * (ww.hi - ww.lo);
      if (params.count_pad != 0u) { divisor = wh.extent * ww.extent; }
      acc += dy[dy_plane + u32(oh * ow_len + ow)] / f32(divisor);
    }
  }
  dx[params.dx_base + n * params.dx_stride + i] = acc;
}
