// Total variation (Mahendran & Vedaldi 2015) of every (n, c) plane of x (N, C, H, W):
//
//   TV_beta(x)[n] = sum_{c, h, w} phi(dx^2 + dy^2),   phi(s) = (s + eps)^(beta / 2)
//   dx = x[c, h, w + 1] - x[c, h, w]   (0 on the last column)
//   dy = x[c, h + 1, w] - x[c, h, w]   (0 on the last row)
//
// beta = 2 is the plain squared-gradient TV (phi(s) = s + eps); beta < 2 needs eps > 0 for a
// finite gradient where the image is flat. The gradient, gathered per element (no scatter):
//
//   dTV/dx[h, w] = -2 phi'(s[h, w]) (dx[h, w] + dy[h, w])
//                  + 2 phi'(s[h, w - 1]) dx[h, w - 1]    (w > 0)
//                  + 2 phi'(s[h - 1, w]) dy[h - 1, w]    (h > 0),   phi'(s) = beta/2 (s + eps)^(beta/2 - 1)
//
//   terms   terms[n, c, h, w] = phi(s[h, w]) (dense; engine/kernels/reduce sums it per sample)
//   grad    out = weight * dTV/dx, or out += weight * dTV/dx with accumulate = 1 (adding the
//           TV penalty's gradient into an objective's image gradient)
//
// x and out may be channel views: element i of sample n at <t>_base + n * <t>_stride + i.
// Bindings: 0 params (uniform), 1 x (read), 2 terms (read_write), 3 out (read_write).
// Dispatch: sampleGrid(C*H*W, N, WG): i = gid.x + gid.y * num_workgroups.x * WG, n = gid.z.
// One invocation per element (5 loads), no workgroup memory.

struct Params {
  per_sample: u32, hw: u32, width: u32, height: u32,
  half_beta: f32,
  eps: f32,
  weight: f32,
  accumulate: u32,
  x_base: u32, x_stride: u32,
  out_base: u32, out_stride: u32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> terms: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn at(n: u32, i: u32) -> f32 {
  return x[params.x_base + n * params.x_stride + i];
}

/** (dx, dy) at element i = plane offset + h * W + w of sample n. */
fn diffs(n: u32, i: u32, h: u32, w: u32) -> vec2f {
  let v = at(n, i);
  let dx = select(0.0, at(n, i + 1u) - v, w + 1u < params.width);
  let dy = select(0.0, at(n, i + params.width) - v, h + 1u < params.height);
  return vec2f(dx, dy);
}

fn phi(s: f32) -> f32 {
  if (params.half_beta == 1.0) { return s + params.eps; }
  return pow(s + params.eps, params.half_beta);
}

fn dphi(s: f32) -> f32 {
  if (params.half_beta == 1.0) { return 1.0; }
  return params.half_beta * pow(s + params.eps, params.half_beta - 1.0);
}

@compute @workgroup_size(WG)
fn tv_terms(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.per_sample) { return; }
  let p = i % params.hw;
  let d = diffs(gid.z, i, p / params.width, p % params.width);
  terms[gid.z * params.per_sample + i] = phi(dot(d, d));
}

@compute @workgroup_size(WG)
fn tv_grad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.per_sample) { return; }
  let n = gid.z;
  let p = i % params.hw;
  let h = p / params.width;
  let w = p % params.width;
  let d = diffs(n, i, h, w);
  var g = -2.0 * dphi(dot(d, d)) * (d.x + d.y);
  if (w > 0u) {
    let l = diffs(n, i - 1u, h, w - 1u);
    g += 2.0 * dphi(dot(l, l)) * l.x;
  }
  if (h > 0u) {
    let u = diffs(n, i - params.width, h - 1u, w);
    g += 2.0 * dphi(dot(u, u)) * u.y;
  }
  let o = params.out_base + n * params.out_stride + i;
  var v = params.weight * g;
  if (params.accumulate != 0u) { v += out[o]; }
  out[o] = v;
}
