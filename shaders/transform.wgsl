// Transforms for transformation robustness (Lucid's jitter / scale / rotate), forward and backward.
//
// affine_forward   y[n, c, oy, ox] = bilinear sample of x[n, c] at (sx, sy) = M_n (ox, oy, 1):
//                  sx = m0 ox + m1 oy + m2, sy = m3 ox + m4 oy + m5 (pixel centres at integers),
//                  taps (floor(sx) + a, floor(sy) + b), a, b in {0, 1}, with weights
//                  (1 - |sx - j|)(1 - |sy - i|). A tap outside the image reads pad_value
//                  (pad_mode 0, constant) or the mirrored pixel (pad_mode 1, reflect without
//                  repeating the edge: -1 -> 1, W -> W - 2, periodic with period 2 (W - 1)).
// affine_backward  dx[n, c, iy, ix] = sum over output pixels o and their taps (j, i) that land on
//                  (ix, iy) of the tap weight times dy[n, c, o]. Gathered, not scattered: for each
//                  virtual tap position (j, i) that pads to (ix, iy) (only (ix, iy) itself for
//                  constant padding; ix + k P and -ix + k P for reflect, inside the range of taps
//                  the output can reach), the output pixels whose sample lies within one pixel
//                  of (j, i) form the inverse image of a 2 x 2 box, a small parallelogram; its
//                  bounding box is scanned in a fixed order. Deterministic, no atomics. The
//                  constant pad value gets no gradient.
// roll             y[n, c, h, w] = x[n, c, (h - shift_y) mod H, (w - shift_x) mod W] (integer
//                  jitter); its backward is the roll by (-shift_y, -shift_x).
//
// M (N, 1, 1, 6) holds each sample's 2 x 3 matrix row-major at m_base + n * m_stride (it maps
// output pixels to input pixels). x, y, dx, dy may be channel views: element e of sample n at
// <t>_base + n * <t>_stride + e.
// Bindings: 0 params (uniform), 1 src (read: x forward, dy backward), 2 m (read; affine only),
//           3 dst (read_write: y forward, dx backward).
// Dispatch: sampleGrid(C * H_dst * W_dst, N, WG): element e = gid.x + gid.y * num_workgroups.x * WG
// of the destination, n = gid.z. One invocation per destination element, no workgroup memory.

struct Params {
  in_h: u32, in_w: u32,       // x's plane
  out_h: u32, out_w: u32,     // y's plane
  channels: u32,
  pad_mode: u32,
  pad_value: f32,
  shift_x: i32, shift_y: i32,
  src_base: u32, src_stride: u32,
  dst_base: u32, dst_stride: u32,
  m_base: u32, m_stride: u32,
}

override WG: u32 = 64;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

fn element(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

fn floor_div(a: i32, b: i32) -> i32 {
  return (a - (((a % b) + b) % b)) / b;
}

fn modulo(a: i32, b: i32) -> i32 {
  return ((a % b) + b) % b;
}

/** Reflect padding: the in-image index of virtual index j on an axis of n pixels. */
fn reflect(j: i32, n: i32) -> i32 {
  if (n == 1) { return 0; }
  let r = modulo(j, 2 * (n - 1));
  return select(r, 2 * (n - 1) - r, r >= n);
}

fn matrix(n: u32) -> array<f32, 6> {
  let b = params.m_base + n * params.m_stride;
  return array<f32, 6>(m[b], m[b + 1u], m[b + 2u], m[b + 3u], m[b + 4u], m[b + 5u]);
}

/** The sample position of output pixel (ox, oy); the same expression in both directions. */
fn sample_at(a: array<f32, 6>, ox: i32, oy: i32) -> vec2f {
  return vec2f(a[0] * f32(ox) + a[1] * f32(oy) + a[2], a[3] * f32(ox) + a[4] * f32(oy) + a[5]);
}

/** x[n, c, i, j] with padding (src is x in the forward). */
fn tap(plane: u32, i: i32, j: i32) -> f32 {
  let h = i32(params.in_h);
  let w = i32(params.in_w);
  var ii = i;
  var jj = j;
  if (params.pad_mode == 0u) {
    if (i < 0 || i >= h || j < 0 || j >= w) { return params.pad_value; }
  } else {
    ii = reflect(i, h);
    jj = reflect(j, w);
  }
  return src[plane + u32(ii * w + jj)];
}

@compute @workgroup_size(WG)
fn affine_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = element(gid, nwg);
  let out_plane = params.out_h * params.out_w;
  if (e >= params.channels * out_plane) { return; }
  let n = gid.z;
  let c = e / out_plane;
  let p = e % out_plane;
  let s = sample_at(matrix(n), i32(p % params.out_w), i32(p / params.out_w));
  let f = floor(s);
  let j = i32(f.x);
  let i = i32(f.y);
  let plane = params.src_base + n * params.src_stride + c * params.in_h * params.in_w;
  let wx = s.x - f.x;
  let wy = s.y - f.y;
  let top = (1.0 - wx) * tap(plane, i, j) + wx * tap(plane, i, j + 1);
  let bottom = (1.0 - wx) * tap(plane, i + 1, j) + wx * tap(plane, i + 1, j + 1);
  dst[params.dst_base + n * params.dst_stride + e] = (1.0 - wy) * top + wy * bottom;
}

/** First virtual index >= lo congruent to o modulo period. */
fn first_at_least(o: i32, lo: i32, period: i32) -> i32 {
  return o - floor_div(o - lo, period) * period;
}

/**
 * Sum over the output pixels whose sample lies within one pixel of virtual tap (j, i) of the tap
 * weight times dy. inv is M's 2 x 2 part inverted, t its translation.
 */
fn gather(a: array<f32, 6>, inv: vec4f, dy_plane: u32, j: i32, i: i32) -> f32 {
  var lo = vec2f(1e30);
  var hi = vec2f(-1e30);
  for (var k = 0; k < 4; k++) {
    let q = vec2f(f32(j + select(-1, 1, (k & 1) != 0)), f32(i + select(-1, 1, k >= 2))) - vec2f(a[2], a[5]);
    let o = vec2f(inv.x * q.x + inv.y * q.y, inv.z * q.x + inv.w * q.y);
    lo = min(lo, o);
    hi = max(hi, o);
  }
  let x0 = max(i32(floor(lo.x)), 0);
  let x1 = min(i32(ceil(hi.x)), i32(params.out_w) - 1);
  let y0 = max(i32(floor(lo.y)), 0);
  let y1 = min(i32(ceil(hi.y)), i32(params.out_h) - 1);
  var acc = 0.0;
  for (var oy = y0; oy <= y1; oy++) {
    for (var ox = x0; ox <= x1; ox++) {
      let s = sample_at(a, ox, oy);
      let wgt = max(0.0, 1.0 - abs(s.x - f32(j))) * max(0.0, 1.0 - abs(s.y - f32(i)));
      if (wgt > 0.0) { acc += wgt * src[dy_plane + u32(oy) * params.out_w + u32(ox)]; }
    }
  }
  return acc;
}

/** Range of tap indices the output can reach on one axis: [floor(min s), floor(max s) + 1]. */
fn tap_range(a: array<f32, 6>, axis: u32) -> vec2i {
  var lo = 1e30;
  var hi = -1e30;
  for (var k = 0; k < 4; k++) {
    let s = sample_at(a, select(0, i32(params.out_w) - 1, (k & 1) != 0), select(0, i32(params.out_h) - 1, k >= 2));
    lo = min(lo, s[axis]);
    hi = max(hi, s[axis]);
  }
  return vec2i(i32(floor(lo)), i32(floor(hi)) + 1);
}

@compute @workgroup_size(WG)
fn affine_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = element(gid, nwg);
  let in_plane = params.in_h * params.in_w;
  if (e >= params.channels * in_plane) { return; }
  let n = gid.z;
  let c = e / in_plane;
  let ix = i32(e % params.in_w);
  let iy = i32((e % in_plane) / params.in_w);
  let a = matrix(n);
  let det = a[0] * a[4] - a[1] * a[3];
  let inv = vec4f(a[4], -a[1], -a[3], a[0]) / det;
  let dy_plane = params.src_base + n * params.src_stride + c * params.out_h * params.out_w;
  var acc = 0.0;
  if (params.pad_mode == 0u) {
    acc = gather(a, inv, dy_plane, ix, iy);
  } else {
    let w = i32(params.in_w);
    let h = i32(params.in_h);
    let rx = tap_range(a, 0u);
    let ry = tap_range(a, 1u);
    // Each axis: the families o + k P (o = ix, and o = -ix unless ix is an edge); an axis of one
    // pixel takes every index (P = 1).
    let px = max(2 * (w - 1), 1);
    let py = max(2 * (h - 1), 1);
    let fx = select(1, 2, ix > 0 && ix < w - 1);
    let fy = select(1, 2, iy > 0 && iy < h - 1);
    for (var gx = 0; gx < fx; gx++) {
      let ox = select(ix, -ix, gx == 1);
      for (var j = first_at_least(ox, rx.x, px); j <= rx.y; j += px) {
        for (var gy = 0; gy < fy; gy++) {
          let oy = select(iy, -iy, gy == 1);
          for (var i = first_at_least(oy, ry.x, py); i <= ry.y; i += py) {
            acc += gather(a, inv, dy_plane, j, i);
          }
        }
      }
    }
  }
  dst[params.dst_base + n * params.dst_stride + e] = acc;
}

@compute @workgroup_size(WG)
fn roll(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = element(gid, nwg);
  let plane = params.in_h * params.in_w;
  if (e >= params.channels * plane) { return; }
  let n = gid.z;
  let p = e % plane;
  let h = u32(modulo(i32(p / params.in_w) - params.shift_y, i32(params.in_h)));
  let w = u32(modulo(i32(p % params.in_w) - params.shift_x, i32(params.in_w)));
  dst[params.dst_base + n * params.dst_stride + e] = src[params.src_base + n * params.src_stride + (e - p) + h * params.in_w + w];
}
