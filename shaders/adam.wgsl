// Adam update of an image (or any parameter) in place, with its two moment tensors
// (Kingma & Ba 2015; the optimizer of Lucid's feature visualizations):
//
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g^2
//   x = x + sign * lr * (m * c1) / (sqrt(v * c2) + eps)
//
// with c1 = 1 / (1 - beta1^t) and c2 = 1 / (1 - beta2^t) the bias corrections for step t (computed
// in float64 on the CPU each step, passed as uniforms), sign -1 to minimize, +1 to maximize.
// x and g may be channel views (<t>_base + n * <t>_stride + i); m and v are dense (N, C, H, W).
//
// Bindings: 0 params (uniform), 1 g (read), 2 x (read_write), 3 m (read_write), 4 v (read_write).
// Dispatch: sampleGrid(C*H*W, N, WG): i = gid.x + gid.y * num_workgroups.x * WG, n = gid.z.
// One invocation per element, no workgroup memory.

struct Params {
  per_sample: u32,
  g_base: u32, g_stride: u32,
  x_base: u32, x_stride: u32,
  lr: f32,          // sign * learning rate
  beta1: f32, beta2: f32,
  c1: f32, c2: f32,
  eps: f32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.per_sample) { return; }
  let n = gid.z;
  let gi = g[params.g_base + n * params.g_stride + i];
  let s = n * params.per_sample + i;
  let mi = params.beta1 * m[s] + (1.0 - params.beta1) * gi;
  let vi = params.beta2 * v[s] + (1.0 - params.beta2) * gi * gi;
  m[s] = mi;
  v[s] = vi;
  let at = params.x_base + n * params.x_stride + i;
  x[at] = x[at] + params.lr * (mi * params.c1) / (sqrt(vi * params.c2) + params.eps);
}
