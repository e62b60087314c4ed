// 2-D inverse real DFT of a half spectrum, as in Lucid's Fourier image parameterization
// (Mordvintsev et al., "Differentiable image parameterizations", Distill 2018), and its adjoint.
//
// X (N, C, H, 2K) holds, for K = floor(W / 2) + 1 columns, the complex half spectrum interleaved:
// Re X[ky, kx] at (ky * K + kx) * 2, Im at + 1. With the spectral scale (use_scale = 1)
//   S[ky, kx] = sqrt(H W) / max(sqrt(fx^2 + fy^2), 1 / max(H, W))^decay_power,
//   fx = kx / W, fy = (ky <= (H - 1) / 2 ? ky : ky - H) / H       (numpy's fftfreq)
// (else S = 1), the image x (N, C, H, W) is out_scale * irfft2(S * X), numpy / TF's irfft2:
//
//   Y[y, kx]  = sum_ky S X[ky, kx] e^{+2 pi i ky y / H}                        (cols_inverse)
//   x[y, x]   = out_scale / (H W) sum_kx w_kx Re(Y[y, kx] e^{+2 pi i kx x / W})  (rows_c2r)
//
// with w_kx = 1 for kx = 0 and for kx = W/2 (W even), else 2 (the Hermitian mirror columns), so the
// imaginary parts of those columns do not contribute. The map X -> x is linear; its adjoint
// (the backward, dL/dX from dL/dx) runs the same sums transposed:
//
//   dY[y, kx] = out_scale w_kx / (H W) sum_x dx[y, x] (cos t, -sin t),  t = 2 pi kx x / W   (rows_adjoint)
//   dX[ky, kx] = S sum_y dY[y, kx] e^{-2 pi i ky y / H}                                   (cols_adjoint)
//
// Complexity: a direct DFT per axis, O(H W (H + K)) multiply-adds per plane (no radix split, so
// any H and W; about 1.7e7 per channel at 224 x 224). Twiddles come from a table computed in
// float64 on the CPU (tw: cos(2 pi j / H), sin(2 pi j / H) for j < H, then the same for W), indexed
// by (k * j) mod N, so no float32 trigonometry accumulates error.
//
// src and dst may be views: element e of sample n at <t>_base + n * <t>_stride + e, e dense in
// (C, H, 2K) for spectra and (C, H, W) for images.
// Bindings: 0 params (uniform), 1 tw (read), 2 src (read), 3 dst (read_write).
// Dispatch: sampleGrid(outputs per sample, N, WG): j = gid.x + gid.y * num_workgroups.x * WG,
// n = gid.z; one invocation per output value (complex for spectra), looping over its axis.

struct Params {
  height: u32, width: u32, k: u32, channels: u32,
  use_scale: u32,
  decay_power: f32,
  out_scale: f32,
  src_base: u32, src_stride: u32,
  dst_base: u32, dst_stride: u32,
}

override WG: u32 = 64;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> tw: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

fn index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

/** e^{i 2 pi (a b mod H) / H} as (cos, sin). */
fn twiddle_h(a: u32, b: u32) -> vec2f {
  let j = (a * b) % params.height;
  return vec2f(tw[j], tw[params.height + j]);
}

fn twiddle_w(a: u32, b: u32) -> vec2f {
  let j = (a * b) % params.width;
  return vec2f(tw[2u * params.height + j], tw[2u * params.height + params.width + j]);
}

fn spectral_scale(ky: u32, kx: u32) -> f32 {
  if (params.use_scale == 0u) { return 1.0; }
  let h = f32(params.height);
  let w = f32(params.width);
  let fy = select(f32(ky) - h, f32(ky), ky <= (params.height - 1u) / 2u) / h;
  let fx = f32(kx) / w;
  let f = max(sqrt(fx * fx + fy * fy), 1.0 / max(h, w));
  return sqrt(h * w) / pow(f, params.decay_power);
}

/** Weight of column kx in the real inverse: the Hermitian mirror counts twice. */
fn column_weight(kx: u32) -> f32 {
  if (kx == 0u || 2u * kx == params.width) { return 1.0; }
  return 2.0;
}

/** The complex value (row, kx) of plane c of sample n in src. */
fn load_complex(n: u32, c: u32, row: u32, kx: u32) -> vec2f {
  let at = params.src_base + n * params.src_stride + ((c * params.height + row) * params.k + kx) * 2u;
  return vec2f(src[at], src[at + 1u]);
}

fn store_complex(n: u32, c: u32, row: u32, kx: u32, v: vec2f) {
  let at = params.dst_base + n * params.dst_stride + ((c * params.height + row) * params.k + kx) * 2u;
  dst[at] = v.x;
  dst[at + 1u] = v.y;
}

/** Spectrum-shaped output j of a sample as (kx, row, plane). */
fn bin(j: u32) -> vec3u {
  return vec3u(j % params.k, (j / params.k) % params.height, j / (params.k * params.height));
}

fn bins() -> u32 {
  return params.channels * params.height * params.k;
}

/** a * b for complex numbers as (re, im). */
fn cmul(a: vec2f, b: vec2f) -> vec2f {
  return vec2f(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

@compute @workgroup_size(WG)
fn cols_inverse(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = index(gid, nwg);
  if (j >= bins()) { return; }
  let b = bin(j);
  var acc = vec2f(0.0);
  for (var ky = 0u; ky < params.height; ky++) {
    acc += cmul(spectral_scale(ky, b.x) * load_complex(gid.z, b.z, ky, b.x), twiddle_h(ky, b.y));
  }
  store_complex(gid.z, b.z, b.y, b.x, acc);
}

@compute @workgroup_size(WG)
fn rows_c2r(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = index(gid, nwg);
  let plane = params.height * params.width;
  if (j >= params.channels * plane) { return; }
  let x = j % params.width;
  let y = (j / params.width) % params.height;
  var acc = 0.0;
  for (var kx = 0u; kx < params.k; kx++) {
    acc += column_weight(kx) * cmul(load_complex(gid.z, j / plane, y, kx), twiddle_w(kx, x)).x;
  }
  dst[params.dst_base + gid.z * params.dst_stride + j] = acc * params.out_scale / f32(plane);
}

@compute @workgroup_size(WG)
fn rows_adjoint(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = index(gid, nwg);
  if (j >= bins()) { return; }
  let b = bin(j);
  let row = params.src_base + gid.z * params.src_stride + (b.z * params.height + b.y) * params.width;
  var acc = vec2f(0.0);
  for (var x = 0u; x < params.width; x++) {
    let e = twiddle_w(b.x, x);
    acc += src[row + x] * vec2f(e.x, -e.y);
  }
  store_complex(gid.z, b.z, b.y, b.x, acc * (column_weight(b.x) * params.out_scale / f32(params.height * params.width)));
}

@compute @workgroup_size(WG)
fn cols_adjoint(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = index(gid, nwg);
  if (j >= bins()) { return; }
  let b = bin(j);
  var acc = vec2f(0.0);
  for (var y = 0u; y < params.height; y++) {
    let e = twiddle_h(b.y, y);
    acc += cmul(load_complex(gid.z, b.z, y, b.x), vec2f(e.x, -e.y));
  }
  store_complex(gid.z, b.z, b.y, b.x, spectral_scale(b.y, b.x) * acc);
}
