// gemv_24.wgsl — y = W·x (+ b) (+ y) with W stored 2:4 semi-structured sparse (the '2:4' LinearWeight format):
// in every row, each group of 4 consecutive inputs keeps (at most) 2 weights.
//
//   W: (rows, cols) logically; stored compressed, each row padded to cp = 32·nw columns (nw = ceil(cols / 32)):
//     vals: (rows, cp/2) f32  — group g (cols 4g..4g+3) of row r keeps vals[r, 2g] and vals[r, 2g+1]
//     idx:  (rows, nw)   u32  — word w of row r holds groups 8w..8w+7; group g uses bits 4(g%8)..4(g%8)+3:
//                               bits 0-1 = position p0 (0..3) of vals[r, 2g] in the group, bits 2-3 = p1 of
//                               vals[r, 2g+1]; always p0 < p1 (the kernels rely on it).
//     A group with fewer than 2 kept weights (or a padding group past cols) stores value 0 at an unused
//     position; x reads past cols are clamped into the row, so padding multiplies a real (finite) input by 0.
//   Bytes read per weight: 0.5·4 (values) + 4/32 (index bits) = 2.125 vs 4 for dense f32 (0.53×): where decode
//   is bandwidth-bound (real GPUs) the ceiling is 1.88× over dense. NOT where it is instruction-bound:
//   measured on SwiftShader (lab-target shapes 256→768, 768→256, 256→256), gemv_vec4 runs at 0.9–1.0× the
//   dense rows4_vec4 GEMV (picking x by position costs about what the halved weight loads save; variants tried
//   and slower: x gathered from memory or workgroup memory by position, bit-mask selects, expanding to dense
//   vec4s, a private-array gather), and the matmul entries at 0.55–0.9× the dense reg4x4 matmul.
//   x: (n, cols)  b: (rows) optional bias  y: (n, rows)
//   y[t, r] = Σ_g vals[r,2g]·x[t, 4g+p0] + vals[r,2g+1]·x[t, 4g+p1]  + (HAS_BIAS ? b[r] : 0) + (ACCUMULATE ? y[t, r] : 0)
//   Same result as the dense GEMV/matmul on the masked matrix (up to f32 summation order).
//
// bindings (group 0):
//   0 uniform  Dims { n: u32, rows: u32, cols: u32, nw: u32 }
//   1 read     vals: array<vec4f>  (4 kept values = 2 groups per vec4; a row is nw·4 vec4s)
//   2 read     idx:  array<u32>
//   3 read     x: array<f32> (array<vec4f> in the *_vec4 entries; needs cols % 4 == 0)
//   4 read     b: array<f32>   (bind any tensor when HAS_BIAS is false; it is not read)
//   5 rw       y: array<f32>
//
// entry points (variants):
//   gemv_vec4 / gemv — decode (n = 1). Each thread owns 4 consecutive rows (like gemv.wgsl's rows4): per index
//       word it loads the 4 rows' words once, then per pair of groups one x pair (2 vec4, shared by the 4 rows)
//       and one vec4 of values per row, and picks x components by the 2-bit positions. No shared memory, no
//       barriers (SwiftShader). dispatch: ceil(rows / (4·WG)) workgroups of WG threads.
//   matmul_vec4 / matmul — prefill (n > 1): each thread computes 4 tokens × 4 rows (like matmul.wgsl's reg4x4).
//       Each row's 4 kept values of a group pair are expanded once into two dense vec4s (values at their
//       positions, zeros elsewhere) and then dotted with 4 tokens' inputs: the decode per value is paid once per
//       4 tokens. dispatch: (ceil(rows / (4·WG)), ceil(n / 4)).
//   The scalar entries (cols % 4 != 0) assemble each group's x from 4 clamped scalar loads.

struct Dims { n: u32, rows: u32, cols: u32, nw: u32 }

override WG: u32 = 64;
override HAS_BIAS: bool = false;
override ACCUMULATE: bool = false;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> vals: array<vec4f>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> b: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

@group(0) @binding(3) var<storage, read> x4: array<vec4f>;

fn finish(t: u32, r: u32, acc: f32) {
  let i = t * dims.rows + r;
  var v = acc;
  if (HAS_BIAS) { v += b[r]; }
  if (ACCUMULATE) { v += y[i]; }
  y[i] = v;
}

fn finish4x4(t0: u32, r0: u32, acc: array<vec4f, 4>) {
  for (var i = 0u; i < 4u; i++) {
    if (t0 + i >= dims.n) { break; }
    for (var j = 0u; j < 4u; j++) {
      if (r0 + j < dims.rows) { finish(t0 + i, r0 + j, acc[i][j]); }
    }
  }
}

// x of group g (cols 4g..4g+3) of the token whose row starts at vec4 index base4 / element base; past cols clamped.
fn xg4(base4: u32, g: u32) -> vec4f {
  return x4[base4 + min(g, dims.cols / 4u - 1u)];
}
fn xg1(base: u32, g: u32) -> vec4f {
  let last = dims.cols - 1u;
  let c = 4u * g;
  return vec4f(x[base + min(c, last)], x[base + min(c + 1u, last)], x[base + min(c + 2u, last)], x[base + min(c + 3u, last)]);
}

// Two groups (8 inputs xa, xb): 4 kept values v whose 2-bit positions are the low 8 bits of p. The positions of
// a group are stored sorted and distinct (p0 < p1), so p0 picks from x0..x2 and p1 from x1..x3: two selects each
// (measured ~5% faster on SwiftShader than indexing the vec4 by a variable, which it lowers to 4 compare-ands).
fn pick3(a: f32, b: f32, c: f32, i: u32) -> f32 {
  return select(select(a, b, i == 1u), c, i == 2u);
}
fn pair(v: vec4f, p: u32, xa: vec4f, xb: vec4f) -> f32 {
  return v.x * pick3(xa.x, xa.y, xa.z, p & 3u) + v.y * pick3(xa.y, xa.z, xa.w, ((p >> 2u) & 3u) - 1u)
       + v.z * pick3(xb.x, xb.y, xb.z, (p >> 4u) & 3u) + v.w * pick3(xb.y, xb.z, xb.w, ((p >> 6u) & 3u) - 1u);
}

// The dense 4-vectors of two groups: kept values v placed at their positions (low 8 bits of p), zeros elsewhere.
// Exact: the two positions of a group always differ, so each component is one value or 0.
fn onehot(p: u32) -> vec4f {
  return select(vec4f(0.0), vec4f(1.0), vec4u(p & 3u) == vec4u(0u, 1u, 2u, 3u));
}
fn expandA(v: vec4f, p: u32) -> vec4f { return v.x * onehot(p) + v.y * onehot(p >> 2u); }
fn expandB(v: vec4f, p: u32) -> vec4f { return v.z * onehot(p >> 4u) + v.w * onehot(p >> 6u); }

// Index-word offsets of rows r0..r0+3 (rows past the end re-read the last row: in bounds, never written).
fn rowWords(r0: u32) -> vec4u {
  let last = dims.rows - 1u;
  return vec4u(r0, min(r0 + 1u, last), min(r0 + 2u, last), min(r0 + 3u, last)) * dims.nw;
}

@compute @workgroup_size(WG)
fn gemv_vec4(@builtin(global_invocation_id) gid: vec3u) {
  let r0 = gid.x * 4u;
  if (r0 >= dims.rows) { return; }
  let o = rowWords(r0);
  var acc = vec4f(0.0);
  for (var w = 0u; w < dims.nw; w++) {
    let p = vec4u(idx[o.x + w], idx[o.y + w], idx[o.z + w], idx[o.w + w]);
    let vo = (o + vec4u(w)) * 4u;
    for (var q = 0u; q < 4u; q++) {
      let g = 8u * w + 2u * q;
      let xa = xg4(0u, g);
      let xb = xg4(0u, g + 1u);
      let s = 8u * q;
      acc += vec4f(pair(vals[vo.x + q], p.x >> s, xa, xb), pair(vals[vo.y + q], p.y >> s, xa, xb),
                   pair(vals[vo.z + q], p.z >> s, xa, xb), pair(vals[vo.w + q], p.w >> s, xa, xb));
    }
  }
  for (var i = 0u; i < 4u; i++) {
    if (r0 + i < dims.rows) { finish(0u, r0 + i, acc[i]); }
  }
}

@compute @workgroup_size(WG)
fn gemv(@builtin(global_invocation_id) gid: vec3u) {
  let r0 = gid.x * 4u;
  if (r0 >= dims.rows) { return; }
  let o = rowWords(r0);
  var acc = vec4f(0.0);
  for (var w = 0u; w < dims.nw; w++) {
    let p = vec4u(idx[o.x + w], idx[o.y + w], idx[o.z + w], idx[o.w + w]);
    let vo = (o + vec4u(w)) * 4u;
    for (var q = 0u; q < 4u; q++) {
      let g = 8u * w + 2u * q;
      let xa = xg1(0u, g);
      let xb = xg1(0u, g + 1u);
      let s = 8u * q;
      acc += vec4f(pair(vals[vo.x + q], p.x >> s, xa, xb), pair(vals[vo.y + q], p.y >> s, xa, xb),
                   pair(vals[vo.z + q], p.z >> s, xa, xb), pair(vals[vo.w + q], p.w >> s, xa, xb));
    }
  }
  for (var i = 0u; i < 4u; i++) {
    if (r0 + i < dims.rows) { finish(0u, r0 + i, acc[i]); }
  }
}

@compute @workgroup_size(WG)
fn matmul_vec4(@builtin(global_invocation_id) gid: vec3u) {
  let r0 = gid.x * 4u;
  let t0 = gid.y * 4u;
  if (r0 >= dims.rows || t0 >= dims.n) { return; }
  let o = rowWords(r0);
  let lt = dims.n - 1u;
  let xb4 = vec4u(t0, min(t0 + 1u, lt), min(t0 + 2u, lt), min(t0 + 3u, lt)) * (dims.cols / 4u); // x row starts
  var acc: array<vec4f, 4>; // acc[token][row]
  for (var w = 0u; w < dims.nw; w++) {
    let p = vec4u(idx[o.x + w], idx[o.y + w], idx[o.z + w], idx[o.w + w]);
    let vo = (o + vec4u(w)) * 4u;
    for (var q = 0u; q < 4u; q++) {
      let g = 8u * w + 2u * q;
      let ps = p >> vec4u(8u * q);
      let a0 = expandA(vals[vo.x + q], ps.x);
      let b0 = expandB(vals[vo.x + q], ps.x);
      let a1 = expandA(vals[vo.y + q], ps.y);
      let b1 = expandB(vals[vo.y + q], ps.y);
      let a2 = expandA(vals[vo.z + q], ps.z);
      let b2 = expandB(vals[vo.z + q], ps.z);
      let a3 = expandA(vals[vo.w + q], ps.w);
      let b3 = expandB(vals[vo.w + q], ps.w);
      for (var t = 0u; t < 4u; t++) {
        let xa = xg4(xb4[t], g);
        let xb = xg4(xb4[t], g + 1u);
        acc[t] += vec4f(dot(a0, xa) + dot(b0, xb), dot(a1, xa) + dot(b1, xb), dot(a2, xa) + dot(b2, xb), dot(a3, xa) + dot(b3, xb));
      }
    }
  }
  finish4x4(t0, r0, acc);
}

@compute @workgroup_size(WG)
fn matmul(@builtin(global_invocation_id) gid: vec3u) {
  let r0 = gid.x * 4u;
  let t0 = gid.y * 4u;
  if (r0 >= dims.rows || t0 >= dims.n) { return; }
  let o = rowWords(r0);
  let lt = dims.n - 1u;
  let xb1 = vec4u(t0, min(t0 + 1u, lt), min(t0 + 2u, lt), min(t0 + 3u, lt)) * dims.cols; // x row starts
  var acc: array<vec4f, 4>; // acc[token][row]
  for (var w = 0u; w < dims.nw; w++) {
    let p = vec4u(idx[o.x + w], idx[o.y + w], idx[o.z + w], idx[o.w + w]);
    let vo = (o + vec4u(w)) * 4u;
    for (var q = 0u; q < 4u; q++) {
      let g = 8u * w + 2u * q;
      let ps = p >> vec4u(8u * q);
      let a0 = expandA(vals[vo.x + q], ps.x);
      let b0 = expandB(vals[vo.x + q], ps.x);
      let a1 = expandA(vals[vo.y + q], ps.y);
      let b1 = expandB(vals[vo.y + q], ps.y);
      let a2 = expandA(vals[vo.z + q], ps.z);
      let b2 = expandB(vals[vo.z + q], ps.z);
      let a3 = expandA(vals[vo.w + q], ps.w);
      let b3 = expandB(vals[vo.w + q], ps.w);
      for (var t = 0u; t < 4u; t++) {
        let xa = xg1(xb1[t], g);
        let xb = xg1(xb1[t], g + 1u);
        acc[t] += vec4f(dot(a0, xa) + dot(b0, xb), dot(a1, xa) + dot(b1, xb), dot(a2, xa) + dot(b2, xb), dot(a3, xa) + dot(b3, xb));
      }
    }
  }
  finish4x4(t0, r0, acc);
}
