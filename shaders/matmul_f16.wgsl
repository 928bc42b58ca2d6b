// matmul_f16.wgsl — y = x·Ŵᵀ (+ b) (+ y) for MANY tokens (prefill, verification), Ŵ stored as f16, f32 math.
//
//   Ŵ: (rows, cols) packed as src/ref/f16.ts packs it (see shaders/gemv_f16.wgsl): W (rows, ceil(cols / 2)) u32,
//      two binary16 per word, element 2j in the low half of word j; an odd row's last high half is padding.
//   x: (n, cols) row-major   b: (rows) optional bias   y: (n, rows) row-major
//   y[t, r] = Σ_c ŵ[r, c]·x[t, c]  + (HAS_BIAS ? b[r] : 0)  + (ACCUMULATE ? y[t, r] : 0)
//
// bindings (group 0):
//   0 uniform  Dims { n: u32, rows: u32, cols: u32 }
//   1 read     W: array<u32> (unpack storage) or array<vec2<f16>> (native storage) — the same buffer
//   2 read     x: array<f32>  (scalar loads: token rows need not be 8-byte aligned)
//   3 read     b: array<f32>  (bind any tensor when HAS_BIAS is false; it is not read)
//   4 rw       y: array<f32>
//
// override constants: WG (reg4x4 only), HAS_BIAS, ACCUMULATE.
//
// Storage variants: as in gemv_f16.wgsl, src/kernels/gemv-f16.ts assembles an "unpack" module (w2 =
// unpack2x16float, every adapter) and a "native" module (the f16 enable directive, w2 = vec2f of an
// array<vec2<f16>> view; needs shader-f16) from this file; it is not compiled as it stands. One spec: linearF16.
//
// entry points:
//   reg4x4 — register tiling, no shared memory, no barriers (CPU-emulated adapters): each thread computes a 4×4
//       block (4 tokens × 4 rows); per word it converts 4 rows' weight pairs once and reuses them for 4 tokens.
//       An odd cols' last column runs alone. Ragged edges re-read the last row/token and skip the write.
//       dispatch: (ceil(rows / (4·WG)), ceil(n / 4)) workgroups of WG.
//   tile16 — shared-memory tiling for GPUs: a 16×16 workgroup computes a 16-token × 16-row tile, each thread
//       converting one weight per 16-column step into shared memory (zero outside (rows, cols)).
//       dispatch: (ceil(rows / 16), ceil(n / 16)).

struct Dims { n: u32, rows: u32, cols: u32 }

override WG: u32 = 64;
override HAS_BIAS: bool = false;
override ACCUMULATE: bool = false;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

// ---- storage: unpack (core WGSL, every adapter)
@group(0) @binding(1) var<storage, read> W: array<u32>;
/** Weights 2i, 2i + 1 of the flat word array, as f32. */
fn w2(i: u32) -> vec2f { return unpack2x16float(W[i]); }

// ---- storage: native (shader-f16)
@group(0) @binding(1) var<storage, read> W: array<vec2<f16>>;
/** Weights 2i, 2i + 1 of the flat word array, as f32. */
fn w2(i: u32) -> vec2f { return vec2f(W[i]); }

// ---- entry points

fn finish(t: u32, r: u32, acc: f32) {
  let i = t * dims.rows + r;
  var v = acc;
  if (HAS_BIAS) { v += b[r]; }
  if (ACCUMULATE) { v += y[i]; }
  y[i] = v;
}

@compute @workgroup_size(WG)
fn reg4x4(@builtin(global_invocation_id) gid: vec3u) {
  let r0 = gid.x * 4u;
  let t0 = gid.y * 4u;
  if (r0 >= dims.rows || t0 >= dims.n) { return; }
  let wpr = (dims.cols + 1u) / 2u;
  let full = dims.cols / 2u;
  let lr = dims.rows - 1u;
  let lt = dims.n - 1u;
  let o = vec4u(r0, min(r0 + 1u, lr), min(r0 + 2u, lr), min(r0 + 3u, lr)) * wpr;
  let xo = vec4u(t0, min(t0 + 1u, lt), min(t0 + 2u, lt), min(t0 + 3u, lt)) * dims.cols;
  var acc = array<vec4f, 4>(); // acc[i][j]: token t0 + i, row r0 + j
  for (var k = 0u; k < full; k++) {
    let wa = w2(o.x + k);
    let wb = w2(o.y + k);
    let wc = w2(o.z + k);
    let wd = w2(o.w + k);
    for (var i = 0u; i < 4u; i++) {
      let c = xo[i] + 2u * k;
      let xv = vec2f(x[c], x[c + 1u]);
      acc[i] += vec4f(dot(wa, xv), dot(wb, xv), dot(wc, xv), dot(wd, xv));
    }
  }
  if (full < wpr) { // odd cols: the last word's low half only
    let wl = vec4f(w2(o.x + full).x, w2(o.y + full).x, w2(o.z + full).x, w2(o.w + full).x);
    for (var i = 0u; i < 4u; i++) { acc[i] += wl * x[xo[i] + dims.cols - 1u]; }
  }
  for (var i = 0u; i < 4u; i++) {
    if (t0 + i >= dims.n) { break; }
    for (var j = 0u; j < 4u; j++) {
      if (r0 + j < dims.rows) { finish(t0 + i, r0 + j, acc[i][j]); }
    }
  }
}

/** x[t, c] or 0 outside (n, cols). */
fn xAt(t: u32, c: u32) -> f32 {
  if (t < dims.n && c < dims.cols) { return x[t * dims.cols + c]; }
  return 0.0;
}

/** ŵ[r, c] or 0 outside (rows, cols). */
fn wAt(r: u32, c: u32) -> f32 {
  if (r < dims.rows && c < dims.cols) {
    let p = w2(r * ((dims.cols + 1u) / 2u) + c / 2u);
    return select(p.x, p.y, (c & 1u) == 1u);
  }
  return 0.0;
}

var<workgroup> xs16: array<f32, 256>; // [token][k]
var<workgroup> ws16: array<f32, 256>; // [row][k]

@compute @workgroup_size(16, 16)
fn tile16(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r0 = wid.x * 16u;
  let t0 = wid.y * 16u;
  let li = lid.y * 16u + lid.x; // lid.x runs along k when loading
  var acc = 0.0;
  for (var k0 = 0u; k0 < dims.cols; k0 += 16u) {
    xs16[li] = xAt(t0 + lid.y, k0 + lid.x);
    ws16[li] = wAt(r0 + lid.y, k0 + lid.x);
    workgroupBarrier();
    for (var k = 0u; k < 16u; k++) { acc += xs16[lid.y * 16u + k] * ws16[lid.x * 16u + k]; }
    workgroupBarrier();
  }
  let t = t0 + lid.y;
  let r = r0 + lid.x;
  if (t < dims.n && r < dims.rows) { finish(t, r, acc); }
}
