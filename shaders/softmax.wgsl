// softmax.wgsl — row-wise softmax in place, f32; for metrics (KL, perplexity) on vocabulary-sized rows.
//
//   x: (rows, cols) row-major.   x[r, c] ← exp(x[r, c] − m) / Σ_c' exp(x[r, c'] − m),  m = max_c x[r, c]
//   Max-subtracted (no overflow for any finite logits). Three passes over the row: max, Σ exp, write.
//   Sums are blocked (the row variants add BLOCK terms into a block sum, then block sums into the total;
//   the workgroup variant strides, then reduces a tree), so the f32 sum of ~150k terms stays near 1e-6 relative.
//
// bindings (group 0):
//   0 uniform  Dims { rows: u32, cols: u32 }
//   1 rw       x: array<f32> (array<vec4f> in row_vec4, which needs cols % 4 == 0)
//
// entry points (variants):
//   row / row_vec4 — one thread per row, no barriers (SwiftShader, where barriers are very expensive).
//        dispatch: ceil(rows / WG) workgroups of WG, folded into (x, y); row = (wid.y·nwg.x + wid.x)·WG + lid.
//   wg — one workgroup of WG threads (a power of two) per row: strided passes, shared-memory tree reductions
//        for the max and the sum. For real GPUs. dispatch: rows workgroups, folded into (x, y).

struct Dims { rows: u32, cols: u32 }

override WG: u32 = 64;
const BLOCK: u32 = 256u;
const NEG_BIG: f32 = -3.4028234663852886e38; // −FLT_MAX: the max of an empty set

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> x4: array<vec4f>;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn row(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = (wid.y * nwg.x + wid.x) * WG + lid;
  if (r >= dims.rows) { return; }
  let o = r * dims.cols;
  var m = NEG_BIG;
  for (var c = 0u; c < dims.cols; c++) { m = max(m, x[o + c]); }
  var total = 0.0;
  for (var b = 0u; b < dims.cols; b += BLOCK) {
    var sum = 0.0;
    for (var c = b; c < min(b + BLOCK, dims.cols); c++) { sum += exp(x[o + c] - m); }
    total += sum;
  }
  let inv = 1.0 / total;
  for (var c = 0u; c < dims.cols; c++) { x[o + c] = exp(x[o + c] - m) * inv; }
}

@compute @workgroup_size(WG)
fn row_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = (wid.y * nwg.x + wid.x) * WG + lid;
  if (r >= dims.rows) { return; }
  let n4 = dims.cols / 4u;
  let o = r * n4;
  var m4 = vec4f(NEG_BIG);
  for (var c = 0u; c < n4; c++) { m4 = max(m4, x4[o + c]); }
  let m = max(max(m4.x, m4.y), max(m4.z, m4.w));
  var total = vec4f(0.0);
  for (var b = 0u; b < n4; b += BLOCK) {
    var sum = vec4f(0.0);
    for (var c = b; c < min(b + BLOCK, n4); c++) { sum += exp(x4[o + c] - m); }
    total += sum;
  }
  let inv = 1.0 / ((total.x + total.y) + (total.z + total.w));
  for (var c = 0u; c < n4; c++) { x4[o + c] = exp(x4[o + c] - m) * inv; }
}

// Max (is_max) or sum of v over the workgroup, returned to every thread. Call from uniform control flow.
fn wg_reduce(lid: u32, v: f32, is_max: bool) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let a = partial[lid];
      let b = partial[lid + s];
      partial[lid] = select(a + b, max(a, b), is_max);
    }
    workgroupBarrier();
  }
  let out = partial[0];
  workgroupBarrier(); // everyone has read partial[0] before it is written again
  return out;
}

@compute @workgroup_size(WG)
fn wg(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = wid.y * nwg.x + wid.x;
  if (r >= dims.rows) { return; } // uniform: the whole workgroup leaves
  let o = r * dims.cols;
  var m = NEG_BIG;
  for (var c = lid; c < dims.cols; c += WG) { m = max(m, x[o + c]); }
  m = wg_reduce(lid, m, true);
  var sum = 0.0;
  for (var c = lid; c < dims.cols; c += WG) { sum += exp(x[o + c] - m); }
  let inv = 1.0 / wg_reduce(lid, sum, false);
  for (var c = lid; c < dims.cols; c += WG) { x[o + c] = exp(x[o + c] - m) * inv; }
}
