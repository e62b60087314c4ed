// Top-k selection per row (nearest neighbours from a distance matrix):
//
//   x (N, C, H, W) read as N rows of M = C*H*W values
//   values[n, r], indices[n, r] = the r-th smallest x[n, :] (r = 0 .. k-1), or the r-th largest
//   with params.largest = 1; ties broken by the smaller index, NaN ranks after every number.
//   values and indices are (N, k, 1, 1); indices are stored as f32 (exact below 2^24).
//
// The order is total ((key, index) lexicographic), so the result is one well-defined list,
// whatever the workgroup size: deterministic on every adapter.
//
// Tiling: one workgroup per row. Invocation t scans the columns t, t + WG, t + 2 WG, ... in
// increasing order, keeping its own sorted best k in registers (insertion; an equal key arriving
// later has a larger index and goes after). The WG lists then meet in workgroup memory and are
// merged pairwise in log2(WG) rounds (list t and list t + s into list t, s = WG/2 .. 1); list 0 is
// the row's answer. WG is a power of two <= 32 (the kernel uses 32, 'parallel', or 1) and
// k <= KMAX = 32 (the op checks); WG = 1 (the 'serial' variant for CPU adapters such as
// SwiftShader) is a plain scan with no merge rounds.
// Dispatch sampleGrid(N, 1, 1): row = wid.x + wid.y * nwg.x (rows past 65535 fold into y).
// x may be a view: element m of row n at x_base + n * x_stride + m; the outputs are dense.
// Bindings: 0 params (uniform), 1 x (read), 2 values (read_write), 3 indices (read_write).

struct Params {
  n: u32,
  m: u32,
  k: u32,
  largest: u32,
  x_base: u32, x_stride: u32,
}

const KMAX: u32 = 32u;
const NONE: u32 = 0xffffffffu;
override WG: u32 = 32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> indices: array<f32>;

// WG lists of KMAX (key, index) pairs: list t at t * KMAX.
var<workgroup> wkey: array<f32, 1024>;
var<workgroup> widx: array<u32, 1024>;

/** By the bits: compilers may fold `v != v` away (WGSL lets them assume no NaN). */
fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

/** Smaller key first (the value, or minus it for largest); NaN after everything; then the smaller index. */
fn before(ka: f32, ia: u32, kb: f32, ib: u32) -> bool {
  if (ia == NONE) { return false; }
  if (ib == NONE) { return true; }
  let na = is_nan(ka);
  let nb = is_nan(kb);
  if (na || nb) { return (!na && nb) || (na && nb && ia < ib); }
  return ka < kb || (ka == kb && ia < ib);
}

@compute @workgroup_size(WG)
fn topk(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = wid.x + wid.y * nwg.x;
  let live = row < params.n;
  let k = params.k;
  let t = lid.x;
  var key: array<f32, KMAX>;
  var idx: array<u32, KMAX>;
  for (var r = 0u; r < KMAX; r++) { idx[r] = NONE; }
  if (live) {
    let base = params.x_base + row * params.x_stride;
    for (var j = t; j < params.m; j += WG) {
      var v = x[base + j];
      if (params.largest == 1u) { v = -v; }
      if (!before(v, j, key[k - 1u], idx[k - 1u])) { continue; }
      var r = k - 1u;
      while (r > 0u && before(v, j, key[r - 1u], idx[r - 1u])) {
        key[r] = key[r - 1u];
        idx[r] = idx[r - 1u];
        r--;
      }
      key[r] = v;
      idx[r] = j;
    }
  }
  for (var r = 0u; r < k; r++) {
    wkey[t * KMAX + r] = key[r];
    widx[t * KMAX + r] = idx[r];
  }
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s /= 2u) {
    if (t < s) {
      // Merge list t and list t + s (each sorted) into registers, then back into list t.
      var p = t * KMAX;
      var q = (t + s) * KMAX;
      let pe = p + k;
      let qe = q + k;
      for (var r = 0u; r < k; r++) {
        let takeP = q >= qe || (p < pe && !before(wkey[q], widx[q], wkey[p], widx[p]));
        if (takeP) {
          key[r] = wkey[p];
          idx[r] = widx[p];
          p++;
        } else {
          key[r] = wkey[q];
          idx[r] = widx[q];
          q++;
        }
      }
    }
    workgroupBarrier();
    if (t < s) {
      for (var r = 0u; r < k; r++) {
        wkey[t * KMAX + r] = key[r];
        widx[t * KMAX + r] = idx[r];
      }
    }
    workgroupBarrier();
  }
  if (live && t == 0u) {
    for (var r = 0u; r < k; r++) {
      var v = wkey[r];
      if (params.largest == 1u) { v = -v; }
      values[row * k + r] = v;
      indices[row * k + r] = f32(widx[r]);
    }
  }
}
