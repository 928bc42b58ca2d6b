// matmul_quant.wgsl — y = x·Ŵᵀ (+ b) (+ y) for MANY tokens (prefill, verification), Ŵ dequantized on the fly.
//
//   Ŵ: (rows, cols) packed as src/techniques/quantize.ts packs it (see shaders/gemv_quant.wgsl for the layout):
//      Wq (rows, wordsPerRow) u32, scales (rows, nGroups) f32, zeros (rows, nGroups) f32 (q4z only), GS columns a group.
//      ŵ[r, c] = (code − zero)·scale   (q8: int8 code, zero 0; q4: nibble, zero 8; q4z: nibble, zeros[r, g])
//   x: (n, cols) row-major   b: (rows) optional bias   y: (n, rows) row-major
//   y[t, r] = Σ_g scale[r,g]·Σ_{c in g} (code[r,c] − zero[r,g])·x[t,c]  + (HAS_BIAS ? b[r] : 0) + (ACCUMULATE ? y[t, r] : 0)
//
// bindings (group 0):
//   0 uniform  Dims { n: u32, rows: u32, cols: u32 }
//   1 read     Wq: array<u32>
//   2 read     scales: array<f32>
//   3 read     zeros: array<f32>  (read for FMT = 2 only; bind scales otherwise)
//   4 read     x: array<f32>      (scalar loads: token rows need not be 16-byte aligned)
//   5 read     b: array<f32>      (bind any tensor when HAS_BIAS is false; it is not read)
//   6 rw       y: array<f32>
//
// override constants: FMT (0 q8, 1 q4, 2 q4z), GS (group size, a multiple of 8), WG, HAS_BIAS, ACCUMULATE.
//
// entry points (variants):
//   reg4x4 — register tiling, no shared memory, no barriers (CPU-emulated adapters): each thread computes a 4×4
//       block (4 tokens × 4 rows); per 8-column block it dequantizes 4 rows once and reuses them for 4 tokens,
//       f32 sums per group scaled once per group; the short last group runs a scalar loop. Ragged edges re-read
//       the last row/token and skip the write. dispatch: (ceil(rows / (4·WG)), ceil(n / 4)) workgroups of WG.
//       On SwiftShader it runs ~1.8× the time of f32 matmul's reg4x4_vec4 (n 32, 768×256): the dequantizing ALU
//       work (shift, mask, convert, subtract per weight, amortized over only 4 tokens) matches the FMAs. A vec4
//       view of x (measured: no gain) and gemv_quant's in-place codes (no fewer ops at 4 tokens) do not help;
//       more tokens per thread (untried) should.
//   tile16 — shared-memory tiling for GPUs: a 16×16 workgroup computes a 16-token × 16-row tile, each thread
//       dequantizing one weight ŵ = (code − zero)·scale per 16-column step into shared memory (zero padding
//       outside), so it sums ŵ·x directly rather than scaling per group.
//       dispatch: (ceil(rows / 16), ceil(n / 16)).

struct Dims { n: u32, rows: u32, cols: u32 }
struct V8 { a: vec4f, b: vec4f }

override WG: u32 = 64;
override FMT: u32 = 0u;
override GS: u32 = 32u;
override HAS_BIAS: bool = false;
override ACCUMULATE: bool = false;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> Wq: array<u32>;
@group(0) @binding(2) var<storage, read> scales: array<f32>;
@group(0) @binding(3) var<storage, read> zeros: array<f32>;
@group(0) @binding(4) var<storage, read> x: array<f32>;
@group(0) @binding(5) var<storage, read> b: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

fn wordsPerRow() -> u32 {
  if (FMT == 0u) { return (dims.cols + 3u) / 4u; }
  return (dims.cols + 7u) / 8u;
}

fn nGroups() -> u32 { return (dims.cols + GS - 1u) / GS; }

fn zeroAt(i: u32) -> f32 {
  if (FMT == 2u) { return zeros[i]; }
  return 0.0;
}

fn i8x4(w: u32) -> vec4f {
  return vec4f(bitcast<vec4i>(vec4u(w) << vec4u(24u, 16u, 8u, 0u)) >> vec4u(24u));
}

/** Codes minus zero of 8-column block j of the row whose words start at o (not yet scaled). */
fn block8(o: u32, j: u32, z: f32) -> V8 {
  if (FMT == 0u) { return V8(i8x4(Wq[o + 2u * j]), i8x4(Wq[o + 2u * j + 1u])); }
  let w = vec4u(Wq[o + j]);
  let zz = select(8.0, z, FMT == 2u);
  return V8(vec4f((w >> vec4u(0u, 4u, 8u, 12u)) & vec4u(15u)) - zz, vec4f((w >> vec4u(16u, 20u, 24u, 28u)) & vec4u(15u)) - zz);
}

/** Code minus zero of column c of the row whose words start at o. */
fn code1(o: u32, c: u32, z: f32) -> f32 {
  if (FMT == 0u) { return f32(extractBits(bitcast<i32>(Wq[o + c / 4u]), (c % 4u) * 8u, 8u)); }
  return f32(extractBits(Wq[o + c / 8u], (c % 8u) * 4u, 4u)) - select(8.0, z, FMT == 2u);
}

/** x[i..i+8) as two vec4s. */
fn x8(i: u32) -> V8 {
  return V8(vec4f(x[i], x[i + 1u], x[i + 2u], x[i + 3u]), vec4f(x[i + 4u], x[i + 5u], x[i + 6u], x[i + 7u]));
}

fn finish(t: u32, r: u32, acc: f32) {
  let i = t * dims.rows + r;
  var v = acc;
  if (HAS_BIAS) { v += b[r]; }
  if (ACCUMULATE) { v += y[i]; }
  y[i] = v;
}

/** Dot of 8 weights with 8 inputs. */
fn d8(w: V8, v: V8) -> f32 { return dot(w.a, v.a) + dot(w.b, v.b); }

@compute @workgroup_size(WG)
fn reg4x4(@builtin(global_invocation_id) gid: vec3u) {
  let r0 = gid.x * 4u;
  let t0 = gid.y * 4u;
  if (r0 >= dims.rows || t0 >= dims.n) { return; }
  let lr = dims.rows - 1u;
  let lt = dims.n - 1u;
  let ra = vec4u(r0, min(r0 + 1u, lr), min(r0 + 2u, lr), min(r0 + 3u, lr));
  let o = ra * wordsPerRow();
  let so = ra * nGroups();
  let xo = vec4u(t0, min(t0 + 1u, lt), min(t0 + 2u, lt), min(t0 + 3u, lt)) * dims.cols;
  let nFull = dims.cols / GS;
  var acc = array<vec4f, 4>(); // acc[i][j]: token t0 + i, row r0 + j
  for (var g = 0u; g <= nFull; g++) {
    let c0 = g * GS;
    if (c0 >= dims.cols) { break; }
    let si = so + g;
    let z = vec4f(zeroAt(si.x), zeroAt(si.y), zeroAt(si.z), zeroAt(si.w));
    var a = array<vec4f, 4>();
    if (g < nFull) {
      for (var j = c0 / 8u; j < (c0 + GS) / 8u; j++) {
        let w0 = block8(o.x, j, z.x);
        let w1 = block8(o.y, j, z.y);
        let w2 = block8(o.z, j, z.z);
        let w3 = block8(o.w, j, z.w);
        for (var i = 0u; i < 4u; i++) {
          let xv = x8(xo[i] + 8u * j);
          a[i] += vec4f(d8(w0, xv), d8(w1, xv), d8(w2, xv), d8(w3, xv));
        }
      }
    } else { // the short last group
      for (var c = c0; c < dims.cols; c++) {
        let wv = vec4f(code1(o.x, c, z.x), code1(o.y, c, z.y), code1(o.z, c, z.z), code1(o.w, c, z.w));
        for (var i = 0u; i < 4u; i++) { a[i] += x[xo[i] + c] * wv; }
      }
    }
    let s = vec4f(scales[si.x], scales[si.y], scales[si.z], scales[si.w]);
    for (var i = 0u; i < 4u; i++) { acc[i] += a[i] * s; }
  }
  for (var i = 0u; i < 4u; i++) {
    if (t0 + i >= dims.n) { break; }
    for (var j = 0u; j < 4u; j++) {
      if (r0 + j < dims.rows) { finish(t0 + i, r0 + j, acc[i][j]); }
    }
  }
}

// ---- shared-memory tile (GPUs) ----

/** x[t, c] or 0 outside (n, cols). */
fn xAt(t: u32, c: u32) -> f32 {
  if (t < dims.n && c < dims.cols) { return x[t * dims.cols + c]; }
  return 0.0;
}

/** ŵ[r, c] or 0 outside (rows, cols). */
fn wAt(r: u32, c: u32) -> f32 {
  if (r < dims.rows && c < dims.cols) {
    let si = r * nGroups() + c / GS;
    return code1(r * wordsPerRow(), c, zeroAt(si)) * scales[si];
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
