// gemv_quant.wgsl — y = Ŵ·x (+ b) (+ y) for ONE token (decode), Ŵ dequantized on the fly from packed groups.
//
//   Ŵ: (rows, cols) stored as src/techniques/quantize.ts packs it (that file is the layout's spec):
//      Wq (rows, wordsPerRow) u32 — q8: 4 int8 per word (element 4j+i in byte i of word j, two's complement);
//                                   q4/q4z: 8 nibbles per word (element 8j+i in bits 4i..4i+3); rows start on a word.
//      scales (rows, nGroups) f32, zeros (rows, nGroups) f32 (q4z only); a group is GS consecutive columns.
//      ŵ[r, c] = (code − zero)·scale   code: q8 the int8, q4 the nibble with zero 8, q4z the nibble with zeros[g].
//   x: (cols) f32   b: (rows) optional bias   y: (rows)
//   y[r] = Σ_g scale[r,g] · Σ_{c in g} (code[r,c] − zero[r,g])·x[c]  + (HAS_BIAS ? b[r] : 0) + (ACCUMULATE ? y[r] : 0)
//   Accumulation is f32: per group, then scaled once per group.
//
// bindings (group 0):
//   0 uniform  Dims { rows: u32, cols: u32 }
//   1 read     Wq: array<u32>
//   2 read     scales: array<f32>
//   3 read     zeros: array<f32>  (read for FMT = 2 only; bind scales otherwise)
//   4 read     x: array<f32>  (scalar loads only: an entry may not use two views of one binding, and an
//                                 array<vec4f> view cannot reach the last cols % 4 values)
//   5 read     b: array<f32>      (bind any tensor when HAS_BIAS is false; it is not read)
//   6 rw       y: array<f32>
//
// override constants: FMT (0 q8, 1 q4, 2 q4z), GS (group size, a multiple of 8), WG, HAS_BIAS, ACCUMULATE.
//
// entry points (variants):
//   rows4 — each thread owns 4 consecutive rows and walks the groups: per 8-column block, 8 loads of x feed 4
//       rows' codes; one scale multiply per group. No shared memory, no barriers: the form for CPU-emulated
//       adapters (SwiftShader), where the dequantizing ALU work, not memory, bounds the time. So codes are not
//       shifted down: nibble i is masked in place (worth n·16^i, exact in f32) against x pre-scaled by 16^−i
//       (shared by the 4 rows); int8 likewise, after flipping sign bits (byte = q + 128, worth (q+128)·256^i).
//       The offset comes off once per group: Σ(n−z)·x = Σn·x − z·Σx (z = 128, 8 or the q4z zero-point). The short
//       last group (cols % GS) runs a scalar loop. Rows past the end re-read the last row and are not written.
//       dispatch: ceil(rows / (4·WG)) workgroups of WG.
//   wg — one workgroup of WG threads per row; thread i takes 8-column blocks i, i+WG, … (coalesced words on
//       real GPUs), the last cols % 8 columns one per thread, then a shared-memory tree reduction.
//       dispatch: rows workgroups, folded into (x, y) when rows > 65535.
//   a8 — q8 only: int8 activations. Each workgroup first quantizes x per group into shared memory (power-of-two
//       scale 2^(e−7) with amax = f·2^e, f ∈ [0.5, 1): qx = clamp(round(x·2^(7−e)), −127, 127), round half to
//       even), one barrier, then each thread owns 4 rows and takes dot4I8Packed(Wq word, qx word): integer sums
//       per group, scaled by scale·2^(e−7). Not the f32 math of the other entries (x is rounded to 8 bits):
//       its spec is linearA8 in src/ref/quant.ts. Needs ceil(cols/4) ≤ A8_MAX_WORDS, ceil(cols/GS) ≤
//       A8_MAX_GROUPS and the WGSL language feature packed_4x8_integer_dot_product. dispatch: as rows4.
//       Measured on SwiftShader (6×256 model, all linears of one decode step): ~2× slower than rows4 (dot4I8Packed
//       is emulated there), so it is opt-in (traits.tuned['gemv_q'] = 'a8'), never the default.

struct Dims { rows: u32, cols: u32 }
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

/** x[c..c+8) as two vec4s. */
fn x8(c: u32) -> V8 {
  return V8(vec4f(x[c], x[c + 1u], x[c + 2u], x[c + 3u]), vec4f(x[c + 4u], x[c + 5u], x[c + 6u], x[c + 7u]));
}

fn wordsPerRow() -> u32 {
  if (FMT == 0u) { return (dims.cols + 3u) / 4u; }
  return (dims.cols + 7u) / 8u;
}

fn nGroups() -> u32 { return (dims.cols + GS - 1u) / GS; }

/** The zero-point of scale index i (q4's fixed 8 is applied in the code helpers). */
fn zeroAt(i: u32) -> f32 {
  if (FMT == 2u) { return zeros[i]; }
  return 0.0;
}

/** Four sign-extended int8 of a word, element i from byte i. */
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

/** 16^−i for nibble i of a word (rows4's in-place nibbles). */
const NIB_LO = vec4f(1.0, 0.0625, 0.00390625, 0.000244140625);
const NIB_HI = vec4f(1.52587890625e-5, 9.5367431640625e-7, 5.9604644775390625e-8, 3.7252902984619140625e-9);

/** 256^−i for byte i of a word (rows4's in-place bytes). */
const BYTE_SCALE = vec4f(1.0, 0.00390625, 1.52587890625e-5, 5.9604644775390625e-8);

/** The 4 int8 of a word in place, offset to unsigned (q + 128, sign bit flipped): byte i as (q+128)·256^i, exact. */
fn bytes4(w: u32) -> vec4f {
  return vec4f(vec4u(w ^ 0x80808080u) & vec4u(0xFFu, 0xFF00u, 0xFF0000u, 0xFF000000u));
}

/** The 8 nibbles of a word in place: nibble i as n·16^i (exact in f32: 4 significant bits). */
fn nib8(w: u32) -> V8 {
  let v = vec4u(w);
  return V8(vec4f(v & vec4u(0xFu, 0xF0u, 0xF00u, 0xF000u)), vec4f(v & vec4u(0xF0000u, 0xF00000u, 0xF000000u, 0xF0000000u)));
}

/** Dot of 8 weights with 8 inputs. */
fn d8(w: V8, v: V8) -> f32 { return dot(w.a, v.a) + dot(w.b, v.b); }

/** Code minus zero of column c of the row whose words start at o. */
fn code1(o: u32, c: u32, z: f32) -> f32 {
  if (FMT == 0u) { return f32(extractBits(bitcast<i32>(Wq[o + c / 4u]), (c % 4u) * 8u, 8u)); }
  return f32(extractBits(Wq[o + c / 8u], (c % 8u) * 4u, 4u)) - select(8.0, z, FMT == 2u);
}

fn finish(r: u32, acc: f32) {
  var v = acc;
  if (HAS_BIAS) { v += b[r]; }
  if (ACCUMULATE) { v += y[r]; }
  y[r] = v;
}

@compute @workgroup_size(WG)
fn rows4(@builtin(global_invocation_id) gid: vec3u) {
  let r0 = gid.x * 4u;
  if (r0 >= dims.rows) { return; }
  let last = dims.rows - 1u;
  let ra = vec4u(r0, min(r0 + 1u, last), min(r0 + 2u, last), min(r0 + 3u, last));
  let o = ra * wordsPerRow();
  let so = ra * nGroups();
  let nFull = dims.cols / GS;
  var acc = vec4f(0.0);
  for (var g = 0u; g < nFull; g++) {
    let si = so + g;
    var a = vec4f(0.0);
    var sx = vec4f(0.0);
    for (var j = g * (GS / 8u); j < (g + 1u) * (GS / 8u); j++) {
      let xv = x8(8u * j);
      sx += xv.a + xv.b;
      if (FMT == 0u) {
        let xa = xv.a * BYTE_SCALE;
        let xb = xv.b * BYTE_SCALE;
        let i = o + 2u * j;
        a += vec4f(dot(bytes4(Wq[i.x]), xa) + dot(bytes4(Wq[i.x + 1u]), xb), dot(bytes4(Wq[i.y]), xa) + dot(bytes4(Wq[i.y + 1u]), xb),
                   dot(bytes4(Wq[i.z]), xa) + dot(bytes4(Wq[i.z + 1u]), xb), dot(bytes4(Wq[i.w]), xa) + dot(bytes4(Wq[i.w + 1u]), xb));
      } else {
        let xs = V8(xv.a * NIB_LO, xv.b * NIB_HI);
        let i = o + j;
        a += vec4f(d8(nib8(Wq[i.x]), xs), d8(nib8(Wq[i.y]), xs), d8(nib8(Wq[i.z]), xs), d8(nib8(Wq[i.w]), xs));
      }
    }
    // the offset of the in-place codes: q8 128 (sign bits flipped), q4 8, q4z its zero-points
    var z = vec4f(select(8.0, 128.0, FMT == 0u));
    if (FMT == 2u) { z = vec4f(zeroAt(si.x), zeroAt(si.y), zeroAt(si.z), zeroAt(si.w)); }
    a -= z * dot(sx, vec4f(1.0));
    acc += a * vec4f(scales[si.x], scales[si.y], scales[si.z], scales[si.w]);
  }
  if (nFull * GS < dims.cols) { // the short last group
    let si = so + nFull;
    let z = vec4f(zeroAt(si.x), zeroAt(si.y), zeroAt(si.z), zeroAt(si.w));
    var a = vec4f(0.0);
    for (var c = nFull * GS; c < dims.cols; c++) {
      a += vec4f(code1(o.x, c, z.x), code1(o.y, c, z.y), code1(o.z, c, z.z), code1(o.w, c, z.w)) * x[c];
    }
    acc += a * vec4f(scales[si.x], scales[si.y], scales[si.z], scales[si.w]);
  }
  for (var i = 0u; i < 4u; i++) {
    if (r0 + i < dims.rows) { finish(r0 + i, acc[i]); }
  }
}

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn wg(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
      @builtin(local_invocation_index) lid: u32) {
  let r = wid.y * nwg.x + wid.x;
  var acc = 0.0;
  if (r < dims.rows) {
    let o = r * wordsPerRow();
    let so = r * nGroups();
    let nb = dims.cols / 8u;
    for (var j = lid; j < nb; j += WG) {
      let si = so + (8u * j) / GS;
      let w = block8(o, j, zeroAt(si));
      acc += scales[si] * d8(w, x8(8u * j));
    }
    if (lid < dims.cols % 8u) {
      let c = 8u * nb + lid;
      let si = so + c / GS;
      acc += scales[si] * code1(o, c, zeroAt(si)) * x[c];
    }
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u && r < dims.rows) { finish(r, partial[0]); }
}

// ---- a8: int8 activations (WGSL packed_4x8_integer_dot_product; src/kernels/gemv-quant.ts compiles this part
// only where the browser has it). FMT must be 0 (q8). Spec: linearA8 in src/ref/quant.ts.

const A8_MAX_WORDS: u32 = 1024u;  // = A8_MAX_WORDS in gemv-quant.ts: cols ≤ 4096
const A8_MAX_GROUPS: u32 = 128u;  // = A8_MAX_GROUPS
var<workgroup> xq: array<u32, A8_MAX_WORDS>;   // x as int8, 4 per word, the q8 row layout (padding bytes 0)
var<workgroup> xsc: array<f32, A8_MAX_GROUPS>; // x's scale per group, 2^(e−7)

@compute @workgroup_size(WG)
fn a8(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let ng = nGroups();
  // 1. every workgroup quantizes x (thread lid takes groups lid, lid + WG, …): amax = f·2^e, f ∈ [0.5, 1)
  for (var g = lid; g < ng; g += WG) {
    let c0 = g * GS;
    let c1 = min(c0 + GS, dims.cols);
    var amax = 0.0;
    for (var c = c0; c < c1; c++) { amax = max(amax, abs(x[c])); }
    let e = select(0, frexp(amax).exp, amax > 0.0);
    xsc[g] = ldexp(1.0, e - 7);
    for (var w = c0 / 4u; w < (c1 + 3u) / 4u; w++) {
      var q = vec4i(0);
      for (var i = 0u; i < 4u; i++) {
        let c = 4u * w + i;
        if (c < c1) { q[i] = i32(clamp(round(ldexp(x[c], 7 - e)), -127.0, 127.0)); } // exact scaling, half to even
      }
      xq[w] = pack4xI8(q);
    }
  }
  workgroupBarrier();
  // 2. 4 rows per thread: integer dot products per group, scaled by (weight scale)·(x scale)
  let r0 = gid.x * 4u;
  if (r0 >= dims.rows) { return; }
  let last = dims.rows - 1u;
  let ra = vec4u(r0, min(r0 + 1u, last), min(r0 + 2u, last), min(r0 + 3u, last));
  let wpr = wordsPerRow();
  let o = ra * wpr;
  let so = ra * ng;
  var acc = vec4f(0.0);
  for (var g = 0u; g < ng; g++) {
    let w0 = g * (GS / 4u);
    var s = vec4i(0);
    for (var w = w0; w < min(w0 + GS / 4u, wpr); w++) {
      let xv = xq[w];
      s += vec4i(dot4I8Packed(Wq[o.x + w], xv), dot4I8Packed(Wq[o.y + w], xv),
                 dot4I8Packed(Wq[o.z + w], xv), dot4I8Packed(Wq[o.w + w], xv));
    }
    let si = so + g;
    acc += vec4f(s) * vec4f(scales[si.x], scales[si.y], scales[si.z], scales[si.w]) * xsc[g];
  }
  for (var i = 0u; i < 4u; i++) {
    if (r0 + i < dims.rows) { finish(r0 + i, acc[i]); }
  }
}
