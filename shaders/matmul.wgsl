// matmul.wgsl — y = x·Wᵀ (+ b) (+ y) for MANY tokens: the prefill (and verification) matrix product, f32.
//
//   W: (rows, cols) row-major f32 (a Hugging Face Linear weight, (out_features, in_features))
//   x: (n, cols) row-major (n tokens)   b: (rows) optional bias   y: (n, rows) row-major
//   y[t, r] = sum_c x[t, c] * W[r, c]  + (HAS_BIAS ? b[r] : 0)  + (ACCUMULATE ? y[t, r] : 0)
//   ACCUMULATE fuses the residual add (o_proj, down_proj write straight into the residual stream).
//   Output placement: y[t, r] lives at y[t·ldy + yOff + r]. A weight split into row chunks (larger than a
//   storage binding, see src/model/linear.ts) runs once per chunk with yOff = the chunk's first row and
//   ldy = the whole layer's rows; W and b are the chunk's. Unsplit: yOff = 0, ldy = rows.
//
// bindings (group 0):
//   0 uniform  Dims { n: u32, rows: u32, cols: u32, yOff: u32, ldy: u32 }
//   1 read     W: array<f32> (array<vec4f> in reg4x4_vec4; needs cols % 4 == 0)
//   2 read     x: array<f32> (array<vec4f> in reg4x4_vec4)
//   3 read     b: array<f32>   (bind any tensor when HAS_BIAS is false; it is not read)
//   4 rw       y: array<f32> (n, ldy) row-major
//
// entry points (variants):
//   reg4x4_vec4 / reg4x4 — register tiling: each thread computes a 4×4 block (4 tokens × 4 rows) and walks
//       cols with vec4 (or scalar) loads; 8 loads feed 16 dot products. No shared memory, no barriers: the
//       fastest form on CPU-emulated adapters (SwiftShader). Ragged edges re-read the last row/token (always
//       in bounds) and skip the write. dispatch: (ceil(rows / (4·WG)), ceil(n / 4)) workgroups of WG threads.
//   tile16 — classic shared-memory tiling for GPUs: a 16×16 workgroup computes a 16-token × 16-row tile, one
//       output per thread, stepping through cols 16 at a time (coalesced global loads into shared memory).
//       Best for small n. dispatch: (ceil(rows / 16), ceil(n / 16)).
//   tile64 — a 16×16 workgroup computes a 64-token × 64-row tile, each thread a 4×4 block held in registers
//       (outer products from vec4 reads of shared memory), 16 cols per step. For large n on GPUs.
//       dispatch: (ceil(rows / 64), ceil(n / 64)).
//   The tiled entries load scalars with bounds checks (zero padding), so they take any cols.

struct Dims { n: u32, rows: u32, cols: u32, yOff: u32, ldy: u32 }

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

fn finish(t: u32, r: u32, acc: f32) {
  let i = t * dims.ldy + dims.yOff + r;
  var v = acc;
  if (HAS_BIAS) { v += b[r]; }
  if (ACCUMULATE) { v += y[i]; }
  y[i] = v;
}

/** Writes the 4×4 block acc[i][j] = (token t0 + i, row r0 + j), skipping what lies outside (n, rows). */
fn finish4x4(t0: u32, r0: u32, acc: array<vec4f, 4>) {
  for (var i = 0u; i < 4u; i++) {
    if (t0 + i >= dims.n) { break; }
    for (var j = 0u; j < 4u; j++) {
      if (r0 + j < dims.rows) { finish(t0 + i, r0 + j, acc[i][j]); }
    }
  }
}

@compute @workgroup_size(WG)
fn reg4x4_vec4(@builtin(global_invocation_id) gid: vec3u) {
  let r0 = gid.x * 4u;
  let t0 = gid.y * 4u;
  if (r0 >= dims.rows || t0 >= dims.n) { return; }
  let n4 = dims.cols / 4u;
  let lr = dims.rows - 1u;
  let lt = dims.n - 1u;
  let w0 = r0 * n4;
  let w1 = min(r0 + 1u, lr) * n4;
  let w2 = min(r0 + 2u, lr) * n4;
  let w3 = min(r0 + 3u, lr) * n4;
  let o0 = t0 * n4;
  let o1 = min(t0 + 1u, lt) * n4;
  let o2 = min(t0 + 2u, lt) * n4;
  let o3 = min(t0 + 3u, lt) * n4;
  var acc = array<vec4f, 4>();
  for (var c = 0u; c < n4; c++) {
    let a = W4[w0 + c];
    let bb = W4[w1 + c];
    let cc = W4[w2 + c];
    let d = W4[w3 + c];
    let x0 = x4[o0 + c];
    let x1 = x4[o1 + c];
    let x2 = x4[o2 + c];
    let x3 = x4[o3 + c];
    acc[0] += vec4f(dot(x0, a), dot(x0, bb), dot(x0, cc), dot(x0, d));
    acc[1] += vec4f(dot(x1, a), dot(x1, bb), dot(x1, cc), dot(x1, d));
    acc[2] += vec4f(dot(x2, a), dot(x2, bb), dot(x2, cc), dot(x2, d));
    acc[3] += vec4f(dot(x3, a), dot(x3, bb), dot(x3, cc), dot(x3, d));
  }
  finish4x4(t0, r0, acc);
}

@compute @workgroup_size(WG)
fn reg4x4(@builtin(global_invocation_id) gid: vec3u) {
  let r0 = gid.x * 4u;
  let t0 = gid.y * 4u;
  if (r0 >= dims.rows || t0 >= dims.n) { return; }
  let k = dims.cols;
  let lr = dims.rows - 1u;
  let lt = dims.n - 1u;
  let w0 = r0 * k;
  let w1 = min(r0 + 1u, lr) * k;
  let w2 = min(r0 + 2u, lr) * k;
  let w3 = min(r0 + 3u, lr) * k;
  let o0 = t0 * k;
  let o1 = min(t0 + 1u, lt) * k;
  let o2 = min(t0 + 2u, lt) * k;
  let o3 = min(t0 + 3u, lt) * k;
  var acc = array<vec4f, 4>();
  for (var c = 0u; c < k; c++) {
    let wv = vec4f(W[w0 + c], W[w1 + c], W[w2 + c], W[w3 + c]);
    acc[0] += x[o0 + c] * wv;
    acc[1] += x[o1 + c] * wv;
    acc[2] += x[o2 + c] * wv;
    acc[3] += x[o3 + c] * wv;
  }
  finish4x4(t0, r0, acc);
}

// ---- shared-memory tiles (GPUs) ----

const TK = 16u; // cols per step in both tiled entries

/** x[t, c] or 0 outside (n, cols). */
fn xAt(t: u32, c: u32) -> f32 {
  if (t < dims.n && c < dims.cols) { return x[t * dims.cols + c]; }
  return 0.0;
}

/** W[r, c] or 0 outside (rows, cols). */
fn wAt(r: u32, c: u32) -> f32 {
  if (r < dims.rows && c < dims.cols) { return W[r * dims.cols + c]; }
  return 0.0;
}

var<workgroup> xs16: array<f32, 256>; // [token][k]
var<workgroup> ws16: array<f32, 256>; // [row][k]

@compute @workgroup_size(16, 16)
fn tile16(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r0 = wid.x * 16u;
  let t0 = wid.y * 16u;
  let li = lid.y * 16u + lid.x; // lid.x runs along k when loading: coalesced
  var acc = 0.0;
  for (var k0 = 0u; k0 < dims.cols; k0 += TK) {
    xs16[li] = xAt(t0 + lid.y, k0 + lid.x);
    ws16[li] = wAt(r0 + lid.y, k0 + lid.x);
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) { acc += xs16[lid.y * 16u + k] * ws16[lid.x * 16u + k]; }
    workgroupBarrier();
  }
  let t = t0 + lid.y;
  let r = r0 + lid.x;
  if (t < dims.n && r < dims.rows) { finish(t, r, acc); }
}

var<workgroup> xs64: array<vec4f, 256>; // [k][token group of 4]
var<workgroup> ws64: array<vec4f, 256>; // [k][row group of 4]

@compute @workgroup_size(16, 16)
fn tile64(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r0 = wid.x * 64u;
  let t0 = wid.y * 64u;
  let li = lid.y * 16u + lid.x;
  // Loader role: thread li fills entry [lk][lg] from 4 tokens (or rows) 4·lg.. at column k0 + lk.
  let lk = li % 16u;
  let lg = li / 16u;
  var acc = array<vec4f, 4>(); // acc[i][j]: token t0 + 4·lid.y + i, row r0 + 4·lid.x + j
  for (var k0 = 0u; k0 < dims.cols; k0 += TK) {
    let tt = t0 + lg * 4u;
    let rr = r0 + lg * 4u;
    let c = k0 + lk;
    xs64[lk * 16u + lg] = vec4f(xAt(tt, c), xAt(tt + 1u, c), xAt(tt + 2u, c), xAt(tt + 3u, c));
    ws64[lk * 16u + lg] = vec4f(wAt(rr, c), wAt(rr + 1u, c), wAt(rr + 2u, c), wAt(rr + 3u, c));
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      let xv = xs64[k * 16u + lid.y];
      let wv = ws64[k * 16u + lid.x];
      acc[0] += xv.x * wv;
      acc[1] += xv.y * wv;
      acc[2] += xv.z * wv;
      acc[3] += xv.w * wv;
    }
    workgroupBarrier();
  }
  finish4x4(t0 + lid.y * 4u, r0 + lid.x * 4u, acc);
}
