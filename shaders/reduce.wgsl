// Deterministic reductions of (N, C, H, W) tensors (x may be a channel view: element i of sample
// n lives at x_base + n * x_stride + i). No float atomics: every sum runs in a fixed order, so
// equal inputs give bit-identical outputs.
//
// Each value first becomes a term t(v), then terms are joined:
//   op 0 sum      t = v     join +        op 3 min     t = v     join min
//   op 1 sum |x|  t = |v|   join +        op 4 max     t = v     join max
//   op 2 sum x^2  t = v*v   join +        op 5 max |x| t = |v|   join max
// and the result is finished by `post`: 0 as is, 1 divided by `count` (means), 2 sqrt (L2 norm).
//
// Entry points (out may be a view; it is written at out_base + n * out_stride + j):
//   per_sample    (N, C, H, W) -> (N, 1, 1, 1). One workgroup per sample (z = n): thread t
//                 joins elements t, t + WG, ... in order, then a fixed tree over WG partials.
//   over_channels (N, C, H, W) -> (N, 1, H, W), j = pixel: one invocation per pixel joins its C
//                 values in channel order (saliency max |x| over channels, channel mean).
//                 Dispatch sampleGrid(H*W, N, WG).
//   over_samples  (N, C, H, W) -> (1, C, H, W), j = element: one invocation per element joins
//                 the N samples in order (SmoothGrad / integrated-gradients averages).
//                 Dispatch sampleGrid(C*H*W, 1, WG).
//   select_kth    (N, C, H, W) -> (N, 1, 1, 1): the exact k-th smallest key (0-based) of each
//                 sample, key = |v| (op 5) or v (any other op), by 4-digit radix select on the
//                 order-preserving u32 image of the float (8 bits a digit, a 256-bin workgroup
//                 histogram with integer atomics, scanned by thread 0). One workgroup per sample.
//
// Bindings: 0 params (uniform), 1 x (read), 2 out (read_write).
// WG must be a power of two (the tree halves it).

struct Params {
  per_sample: u32,   // C * H * W
  hw: u32,           // H * W
  c: u32,
  n: u32,
  op: u32,
  post: u32,
  count: f32,        // divisor for post 1
  k: u32,            // select_kth rank
  x_base: u32, x_stride: u32,
  out_base: u32, out_stride: u32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> partial: array<f32, WG>;
var<workgroup> hist: array<atomic<u32>, 256>;
var<workgroup> chosen: vec2u;   // (key prefix so far, rank left within it)

fn load(n: u32, i: u32) -> f32 {
  return x[params.x_base + n * params.x_stride + i];
}

fn term(v: f32) -> f32 {
  switch params.op {
    case 1u, 5u: { return abs(v); }
    case 2u: { return v * v; }
    default: { return v; }
  }
}

fn join(a: f32, b: f32) -> f32 {
  switch params.op {
    case 3u: { return min(a, b); }
    case 4u, 5u: { return max(a, b); }
    default: { return a + b; }
  }
}

/** The identity of join, or (min / max) any term of the set, which joins idempotently. */
fn start(first: f32) -> f32 {
  if (params.op >= 3u) { return term(first); }
  return 0.0;
}

fn finish(v: f32) -> f32 {
  if (params.post == 1u) { return v / params.count; }
  if (params.post == 2u) { return sqrt(v); }
  return v;
}

@compute @workgroup_size(WG)
fn per_sample(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let n = wid.z;
  let t = lid.x;
  var acc = start(load(n, 0u));
  for (var i = t; i < params.per_sample; i += WG) { acc = join(acc, term(load(n, i))); }
  partial[t] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (t < s) { partial[t] = join(partial[t], partial[t + s]); }
    workgroupBarrier();
  }
  if (t == 0u) { out[params.out_base + n * params.out_stride] = finish(partial[0]); }
}

@compute @workgroup_size(WG)
fn over_channels(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let p = gid.x + gid.y * nwg.x * WG;
  if (p >= params.hw) { return; }
  let n = gid.z;
  var acc = start(load(n, p));
  for (var c = 0u; c < params.c; c++) { acc = join(acc, term(load(n, c * params.hw + p))); }
  out[params.out_base + n * params.out_stride + p] = finish(acc);
}

@compute @workgroup_size(WG)
fn over_samples(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.per_sample) { return; }
  var acc = start(load(0u, i));
  for (var n = 0u; n < params.n; n++) { acc = join(acc, term(load(n, i))); }
  out[params.out_base + i] = finish(acc);
}

/** Order-preserving u32 image of a float: a < b as floats iff key(a) < key(b) as u32. */
fn key_of(v: f32) -> u32 {
  if (params.op == 5u) { return bitcast<u32>(abs(v)); }
  let b = bitcast<u32>(v);
  if ((b & 0x80000000u) != 0u) { return ~b; }
  return b | 0x80000000u;
}

fn value_of(key: u32) -> f32 {
  if (params.op == 5u) { return bitcast<f32>(key); }
  if ((key & 0x80000000u) != 0u) { return bitcast<f32>(key & 0x7fffffffu); }
  return bitcast<f32>(~key);
}

@compute @workgroup_size(WG)
fn select_kth(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let n = wid.z;
  let t = lid.x;
  if (t == 0u) { chosen = vec2u(0u, params.k); }
  for (var digit = 0u; digit < 4u; digit++) {
    let shift = 24u - 8u * digit;
    // Bits above this digit must match the prefix chosen so far.
    let mask = select(0u, 0xffffffffu << (shift + 8u), digit > 0u);
    for (var b = t; b < 256u; b += WG) { atomicStore(&hist[b], 0u); }
    workgroupBarrier();
    let prefix = chosen.x;
    for (var i = t; i < params.per_sample; i += WG) {
      let key = key_of(load(n, i));
      if ((key & mask) == prefix) { atomicAdd(&hist[(key >> shift) & 255u], 1u); }
    }
    workgroupBarrier();
    if (t == 0u) {
      var below = 0u;
      var d = 0u;
      for (; d < 255u; d++) {
        let c = atomicLoad(&hist[d]);
        if (below + c > chosen.y) { break; }
        below += c;
      }
      chosen = vec2u(prefix | (d << shift), chosen.y - below);
    }
    workgroupBarrier();
  }
  if (t == 0u) { out[params.out_base + n * params.out_stride] = value_of(chosen.x); }
}
