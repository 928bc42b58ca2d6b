// norm.wgsl — row normalisations, f32. x, y: (n, dim) row-major; w, b: (dim).
//
//   rmsnorm:   y = x · 1/sqrt(mean(x²) + eps) · w                    (Llama, Qwen2, …)
//   layernorm: y = (x − μ) · 1/sqrt(mean((x − μ)²) + eps) · w + b,   μ = mean(x)   (GPT-2; two-pass variance,
//              so a large mean does not cancel the variance away)
//
// bindings (group 0), per kernel spec:
//   rmsnorm:   0 uniform Dims { n: u32, dim: u32, eps: f32 }   1 read x   2 read w   3 rw y
//   layernorm: 0 uniform Dims { n: u32, dim: u32, eps: f32 }   1 read x   2 read w   3 read b   4 rw y
//   arrays are array<f32>, or array<vec4f> in the *_row_vec4 entry points (need dim % 4 == 0).
//
// entry points (variants):
//   rms_row / rms_row_vec4 / ln_row / ln_row_vec4 — one thread per row, no shared memory and no barriers: best
//        where barriers are very expensive (SwiftShader), and for the few rows of decode there is little to
//        share anyway. The vec4 forms keep 4 partial sums (also a little more accurate).
//        dispatch: ceil(n / WG) workgroups of WG, folded into (x, y); row = (wid.y·nwg.x + wid.x)·WG + lid.
//   rms_wg / ln_wg — one workgroup of WG threads per row: strided (coalesced) loads, shared-memory tree
//        reductions (one for rmsnorm, two for layernorm). For real GPUs, where one thread per row leaves the
//        device idle at decode. WG must be a power of two. dispatch: n workgroups, folded into (x, y).

struct Dims { n: u32, dim: u32, eps: f32 }

override WG: u32 = 64;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read> x4: array<vec4f>;
@group(0) @binding(2) var<storage, read> w4: array<vec4f>;
// rmsnorm output
@group(0) @binding(3) var<storage, read_write> rms_y: array<f32>;
@group(0) @binding(3) var<storage, read_write> rms_y4: array<vec4f>;
// layernorm bias and output
@group(0) @binding(3) var<storage, read> ln_b: array<f32>;
@group(0) @binding(4) var<storage, read_write> ln_y: array<f32>;
@group(0) @binding(3) var<storage, read> ln_b4: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> ln_y4: array<vec4f>;

var<workgroup> partial: array<f32, WG>;

fn row_of_thread(wid: vec3u, nwg: vec3u, lid: u32) -> u32 { return (wid.y * nwg.x + wid.x) * WG + lid; }
fn hsum(v: vec4f) -> f32 { return (v.x + v.y) + (v.z + v.w); }

// ---- one thread per row ----

@compute @workgroup_size(WG)
fn rms_row(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = row_of_thread(wid, nwg, lid);
  if (r >= dims.n) { return; }
  let o = r * dims.dim;
  var ss = 0.0;
  for (var c = 0u; c < dims.dim; c++) { let v = x[o + c]; ss += v * v; }
  let s = inverseSqrt(ss / f32(dims.dim) + dims.eps);
  for (var c = 0u; c < dims.dim; c++) { rms_y[o + c] = x[o + c] * s * w[c]; }
}

@compute @workgroup_size(WG)
fn rms_row_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = row_of_thread(wid, nwg, lid);
  if (r >= dims.n) { return; }
  let d4 = dims.dim / 4u;
  let o = r * d4;
  var ss = vec4f(0.0);
  for (var c = 0u; c < d4; c++) { let v = x4[o + c]; ss += v * v; }
  let s = inverseSqrt(hsum(ss) / f32(dims.dim) + dims.eps);
  for (var c = 0u; c < d4; c++) { rms_y4[o + c] = x4[o + c] * s * w4[c]; }
}

@compute @workgroup_size(WG)
fn ln_row(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = row_of_thread(wid, nwg, lid);
  if (r >= dims.n) { return; }
  let o = r * dims.dim;
  var sum = 0.0;
  for (var c = 0u; c < dims.dim; c++) { sum += x[o + c]; }
  let mean = sum / f32(dims.dim);
  var ss = 0.0;
  for (var c = 0u; c < dims.dim; c++) { let d = x[o + c] - mean; ss += d * d; }
  let s = inverseSqrt(ss / f32(dims.dim) + dims.eps);
  for (var c = 0u; c < dims.dim; c++) { ln_y[o + c] = (x[o + c] - mean) * s * w[c] + ln_b[c]; }
}

@compute @workgroup_size(WG)
fn ln_row_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = row_of_thread(wid, nwg, lid);
  if (r >= dims.n) { return; }
  let d4 = dims.dim / 4u;
  let o = r * d4;
  var sum = vec4f(0.0);
  for (var c = 0u; c < d4; c++) { sum += x4[o + c]; }
  let mean = hsum(sum) / f32(dims.dim);
  var ss = vec4f(0.0);
  for (var c = 0u; c < d4; c++) { let d = x4[o + c] - mean; ss += d * d; }
  let s = inverseSqrt(hsum(ss) / f32(dims.dim) + dims.eps);
  for (var c = 0u; c < d4; c++) { ln_y4[o + c] = (x4[o + c] - mean) * s * w4[c] + ln_b4[c]; }
}

// ---- one workgroup per row ----

/** Sum of v over the workgroup, returned to every thread. Call from uniform control flow. */
fn wg_sum(lid: u32, v: f32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier(); // everyone has read partial[0] before it is written again
  return total;
}

@compute @workgroup_size(WG)
fn rms_wg(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = wid.y * nwg.x + wid.x;
  if (r >= dims.n) { return; } // uniform: the whole workgroup leaves
  let o = r * dims.dim;
  var ss = 0.0;
  for (var c = lid; c < dims.dim; c += WG) { let v = x[o + c]; ss += v * v; }
  let s = inverseSqrt(wg_sum(lid, ss) / f32(dims.dim) + dims.eps);
  for (var c = lid; c < dims.dim; c += WG) { rms_y[o + c] = x[o + c] * s * w[c]; }
}

@compute @workgroup_size(WG)
fn ln_wg(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = wid.y * nwg.x + wid.x;
  if (r >= dims.n) { return; }
  let o = r * dims.dim;
  var sum = 0.0;
  for (var c = lid; c < dims.dim; c += WG) { sum += x[o + c]; }
  let mean = wg_sum(lid, sum) / f32(dims.dim);
  var ss = 0.0;
  for (var c = lid; c < dims.dim; c += WG) { let d = x[o + c] - mean; ss += d * d; }
  let s = inverseSqrt(wg_sum(lid, ss) / f32(dims.dim) + dims.eps);
  for (var c = lid; c < dims.dim; c += WG) { ln_y[o + c] = (x[o + c] - mean) * s * w[c] + ln_b[c]; }
}
