// gemv.wgsl — y = W·x (+ b) (+ y) for ONE token: the decode step's matrix–vector product, f32.
//
//   W: (rows, cols) row-major f32 (a Hugging Face Linear weight, (out_features, in_features))
//   x: (cols)   b: (rows) optional bias (Qwen2 q/k/v)   y: (rows)
//   y[yOff + r] = sum_c W[r, c] * x[c]  + (HAS_BIAS ? b[r] : 0)  + (ACCUMULATE ? y[yOff + r] : 0)
//   ACCUMULATE fuses the residual add: o_proj and down_proj write straight into the residual stream.
//   yOff places a row chunk's outputs: a weight split into row chunks (larger than a storage binding, see
//   src/model/linear.ts) runs once per chunk, W and b being the chunk's, y the whole output. 0 when unsplit.
//
// bindings (group 0):
//   0 uniform  Dims { rows: u32, cols: u32, yOff: u32 }
//   1 read     W: array<f32> (or array<vec4f> in the *_vec4 entries; needs cols % 4 == 0)
//   2 read     x: array<f32> (or array<vec4f>)
//   3 read     b: array<f32>   (bind any tensor when HAS_BIAS is false; it is not read)
//   4 rw       y: array<f32> (at least yOff + rows)
//
// entry points (variants):
//   rows4_vec4 / rows4 — each thread owns 4 consecutive rows and walks the row with vec4 (or scalar) loads;
//                no shared memory, no barriers. Fastest on CPU-emulated adapters (SwiftShader), where
//                barriers are very expensive. dispatch: ceil(rows / 4 / WG) workgroups of WG threads.
//   wg_vec4 — one workgroup of WG threads per row, strided vec4 loads (coalesced on real GPUs), then a
//                shared-memory tree reduction. dispatch: rows workgroups, folded into (x, y) when rows > 65535.
//                Needs cols % 4 == 0 (the engine falls back to rows4 otherwise).

struct Dims { rows: u32, cols: u32, yOff: u32 }

override WG: u32 = 64;
override HAS_BIAS: bool = false;
override ACCUMULATE: bool = false;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@group(0) @binding(1) var<storage, read> W4: array<vec4f>;
@group(0) @binding(2) var<storage, read> x4: array<vec4f>;

fn finish(r: u32, acc: f32) {
  var v = acc;
  if (HAS_BIAS) { v += b[r]; }
  let i = dims.yOff + r;
  if (ACCUMULATE) { v += y[i]; }
  y[i] = v;
}

@compute @workgroup_size(WG)
fn rows4_vec4(@builtin(global_invocation_id) gid: vec3u) {
  let r0 = gid.x * 4u;
  if (r0 >= dims.rows) { return; }
  let n4 = dims.cols / 4u;
  let last = dims.rows - 1u;
  // Rows past the end re-read the last row (always in bounds) and are not written.
  let o0 = r0 * n4;
  let o1 = min(r0 + 1u, last) * n4;
  let o2 = min(r0 + 2u, last) * n4;
  let o3 = min(r0 + 3u, last) * n4;
  var acc = vec4f(0.0);
  for (var c = 0u; c < n4; c++) {
    let xv = x4[c];
    acc += vec4f(dot(W4[o0 + c], xv), dot(W4[o1 + c], xv), dot(W4[o2 + c], xv), dot(W4[o3 + c], xv));
  }
  for (var i = 0u; i < 4u; i++) {
    if (r0 + i < dims.rows) { finish(r0 + i, acc[i]); }
  }
}

@compute @workgroup_size(WG)
fn rows4(@builtin(global_invocation_id) gid: vec3u) {
  let r0 = gid.x * 4u;
  if (r0 >= dims.rows) { return; }
  let last = dims.rows - 1u;
  let o0 = r0 * dims.cols;
  let o1 = min(r0 + 1u, last) * dims.cols;
  let o2 = min(r0 + 2u, last) * dims.cols;
  let o3 = min(r0 + 3u, last) * dims.cols;
  var acc = vec4f(0.0);
  for (var c = 0u; c < dims.cols; c++) {
    let xv = x[c];
    acc += vec4f(W[o0 + c], W[o1 + c], W[o2 + c], W[o3 + c]) * xv;
  }
  for (var i = 0u; i < 4u; i++) {
    if (r0 + i < dims.rows) { finish(r0 + i, acc[i]); }
  }
}

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn wg_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let r = wid.y * nwg.x + wid.x;
  let n4 = dims.cols / 4u;
  var acc = 0.0;
  if (r < dims.rows) {
    let o = r * n4;
    for (var c = lid; c < n4; c += WG) { acc += dot(W4[o + c], x4[c]); }
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u && r < dims.rows) { finish(r, partial[0]); }
}
