// The exact O(N^2) t-SNE gradient step (van der Maaten & Hinton 2008; the update rule of van der
// Maaten's reference tsne.py: gains, momentum, re-centring). y (N, 2, 1, 1) are the embedded points,
// p (N, N, 1, 1) the symmetric joint probabilities (computed once on the CPU).
//
//   num[i, j] = 1 / (1 + |y_i - y_j|^2)  (j != i; num[i, i] = 0)
//   row_sums:  rows[i] = sum_j num[i, j]                       then Z = sum_i rows[i] (reduce op)
//   step:      q = num / Z;  dy_i = sum_j (exaggeration * p[i, j] - q[i, j]) num[i, j] (y_i - y_j)
//              gain_i = (sign(dy_i) != sign(iy_i)) ? gain_i + 0.2 : gain_i * 0.8, at least min_gain
//              iy_i = momentum * iy_i - eta * gain_i * dy_i;   y_next_i = y_i + iy_i
//   center:    y_i = y_next_i - mean_j y_next_j                (the mean by the reduce op)
// (tsne.py's gradient, without the constant 4 of the paper's formula: its eta = 500 assumes that.)
//
// Per iteration: row_sums, reduceSamples(rows, 'sum'), step, reduceBatch(y_next, 'mean'), center.
// Each invocation owns one point and loops over all j in order, so the sums (and the whole run)
// are deterministic: the same seed gives bit-identical coordinates. gains and iy (2N values) are
// read and written only by their own point's invocation.
// Dispatch: sampleGrid(N, 1, WG) for all three entry points, i = gid.x + gid.y * nwg.x * WG.
// Bindings (those an entry point uses): 0 params (uniform), 1 y (read / read_write in center),
// 2 p (read), 3 rows (read / read_write), 4 z (read), 5 gains, 6 iy, 7 y_next, 8 mean.

struct Params {
  n: u32,
  exaggeration: f32,
  momentum: f32,
  eta: f32,
  min_gain: f32,
}

override WG: u32 = 64;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> p: array<f32>;
@group(0) @binding(3) var<storage, read_write> rows: array<f32>;
@group(0) @binding(4) var<storage, read> z: array<f32>;
@group(0) @binding(5) var<storage, read_write> gains: array<f32>;
@group(0) @binding(6) var<storage, read_write> iy: array<f32>;
@group(0) @binding(7) var<storage, read_write> y_next: array<f32>;
@group(0) @binding(8) var<storage, read> mean: array<f32>;

fn point(i: u32) -> vec2f {
  return vec2f(y[2u * i], y[2u * i + 1u]);
}

fn index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(WG)
fn row_sums(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= params.n) { return; }
  let yi = point(i);
  var s = 0.0;
  for (var j = 0u; j < params.n; j++) {
    if (j == i) { continue; }
    let d = yi - point(j);
    s += 1.0 / (1.0 + dot(d, d));
  }
  rows[i] = s;
}

@compute @workgroup_size(WG)
fn step(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= params.n) { return; }
  let yi = point(i);
  let inv_z = 1.0 / z[0];
  var g = vec2f(0.0);
  for (var j = 0u; j < params.n; j++) {
    if (j == i) { continue; }
    let d = yi - point(j);
    let num = 1.0 / (1.0 + dot(d, d));
    g += (params.exaggeration * p[i * params.n + j] - num * inv_z) * num * d;
  }
  for (var c = 0u; c < 2u; c++) {
    let e = 2u * i + c;
    var gain = gains[e];
    if ((g[c] > 0.0) != (iy[e] > 0.0)) { gain += 0.2; } else { gain *= 0.8; }
    gain = max(gain, params.min_gain);
    gains[e] = gain;
    let v = params.momentum * iy[e] - params.eta * gain * g[c];
    iy[e] = v;
    y_next[e] = y[e] + v;
  }
}

@compute @workgroup_size(WG)
fn center(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= params.n) { return; }
  y[2u * i] = y_next[2u * i] - mean[0];
  y[2u * i + 1u] = y_next[2u * i + 1u] - mean[1];
}
