// attention.wgsl — fused causal attention over the KV cache with grouped-query heads, f32.
//
//   q: (n, nHeads·headDim) for positions pos0 .. pos0+n−1 (head h at columns [h·headDim, (h+1)·headDim))
//   k, v: (maxSeq, nKvHeads·headDim) cache; rows 0 .. pos0+n−1 hold this step's and earlier keys/values
//   out: (n, nHeads·headDim)
//   Query head h reads kv head g = h / (nHeads / nKvHeads). Token t (position pos0+t) attends rows 0..pos0+t:
//     s_p = scale · q_t,h · k_p,g        (scale = 1/sqrt(headDim))
//     out_t,h = sum_p softmax(s)_p · v_p,g
//   The softmax is online (streaming): a running max m, a running sum l = sum exp(s_p − m) and an accumulator
//   acc = sum exp(s_p − m)·v_p, rescaled by exp(m_old − m_new) whenever m grows; out = acc / l. No scratch
//   buffer, one pass over the cache. n = 1 is decode; n > 1 is prefill (and speculative verification).
//   Rows past pos0+t are never read (they may hold stale data), nor rows past the cache's valid length.
//
// bindings (group 0):
//   0 uniform  Params { n, nHeads, nKvHeads, headDim, pos0: u32, scale: f32 }
//   1 read     q: array<f32>   (array<vec4f> in thread_vec4; needs headDim % 4 == 0)
//   2 read     k: array<f32>   (array<vec4f> in thread_vec4)
//   3 read     v: array<f32>   (array<vec4f> in thread_vec4)
//   4 rw       out: array<f32> (array<vec4f> in thread_vec4)
//
// entry points (variants); headDim <= 256 (MAXD) in all:
//   thread_vec4 / thread — one thread per (token, head) walks positions 0..pos0+t with vec4 (or scalar) loads
//       over headDim, q and the accumulator in registers. No shared memory, no barriers: the form for
//       CPU-emulated adapters (SwiftShader). dispatch: ceil(n·nHeads / WG) workgroups of WG threads, folded
//       into (x, y); index i = t·nHeads + h.
//   wg — one workgroup of WG threads per (token, head), for GPUs: positions go in chunks of WG, one per thread
//       (score = q·k with q in shared memory); each thread reads the chunk's WG scores to get the chunk max,
//       writes its weight exp(s − m); then thread d accumulates output dims d, d+WG, … over the chunk (coalesced
//       reads of v). Two barriers per chunk. dispatch: n·nHeads workgroups, folded into (x, y).

struct Params { n: u32, nHeads: u32, nKvHeads: u32, headDim: u32, pos0: u32, scale: f32 }

override WG: u32 = 64;
const MAXD = 256u;
const NEG = -3.0e38; // "minus infinity" for the running max (finite: exp(NEG − s) is exactly 0)
// Accumulators are zeroed explicitly: SwiftShader was seen NOT to re-zero a `var x: T;` declared inside a loop
// on each iteration (WGSL says it must), so no kernel here relies on implicit zero-initialisation.

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@group(0) @binding(1) var<storage, read> q4: array<vec4f>;
@group(0) @binding(2) var<storage, read> k4: array<vec4f>;
@group(0) @binding(3) var<storage, read> v4: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> out4: array<vec4f>;

@compute @workgroup_size(WG)
fn thread_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= P.n * P.nHeads) { return; }
  let t = i / P.nHeads;
  let h = i % P.nHeads;
  let g = h / (P.nHeads / P.nKvHeads);
  let d4 = P.headDim / 4u;
  let qo = (t * P.nHeads + h) * d4;
  let kvStride = P.nKvHeads * d4;
  var qv: array<vec4f, MAXD / 4u>;
  var acc: array<vec4f, MAXD / 4u>;
  for (var j = 0u; j < d4; j++) {
    qv[j] = q4[qo + j] * P.scale;
    acc[j] = vec4f(0.0); // explicit: see the note on zero-initialisation above
  }
  var m = NEG;
  var l = 0.0;
  let len = P.pos0 + t + 1u;
  for (var p = 0u; p < len; p++) {
    let ko = p * kvStride + g * d4;
    var s = 0.0;
    for (var j = 0u; j < d4; j++) { s += dot(qv[j], k4[ko + j]); }
    if (s > m) {
      let c = exp(m - s); // rescale the past; this position's weight is exp(0) = 1
      m = s;
      l = l * c + 1.0;
      for (var j = 0u; j < d4; j++) { acc[j] = acc[j] * c + v4[ko + j]; }
    } else {
      let w = exp(s - m);
      l += w;
      for (var j = 0u; j < d4; j++) { acc[j] += w * v4[ko + j]; }
    }
  }
  let inv = 1.0 / l;
  for (var j = 0u; j < d4; j++) { out4[qo + j] = acc[j] * inv; }
}

@compute @workgroup_size(WG)
fn thread(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
          @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= P.n * P.nHeads) { return; }
  let t = i / P.nHeads;
  let h = i % P.nHeads;
  let g = h / (P.nHeads / P.nKvHeads);
  let hd = P.headDim;
  let qo = (t * P.nHeads + h) * hd;
  let kvStride = P.nKvHeads * hd;
  var qv: array<f32, MAXD>;
  var acc: array<f32, MAXD>;
  for (var j = 0u; j < hd; j++) {
    qv[j] = q[qo + j] * P.scale;
    acc[j] = 0.0;
  }
  var m = NEG;
  var l = 0.0;
  let len = P.pos0 + t + 1u;
  for (var p = 0u; p < len; p++) {
    let ko = p * kvStride + g * hd;
    var s = 0.0;
    for (var j = 0u; j < hd; j++) { s += qv[j] * k[ko + j]; }
    if (s > m) {
      let c = exp(m - s);
      m = s;
      l = l * c + 1.0;
      for (var j = 0u; j < hd; j++) { acc[j] = acc[j] * c + v[ko + j]; }
    } else {
      let w = exp(s - m);
      l += w;
      for (var j = 0u; j < hd; j++) { acc[j] += w * v[ko + j]; }
    }
  }
  let inv = 1.0 / l;
  for (var j = 0u; j < hd; j++) { out[qo + j] = acc[j] * inv; }
}

var<workgroup> qs: array<f32, MAXD>; // scale·q for this (token, head)
var<workgroup> sc: array<f32, WG>;   // the chunk's scores
var<workgroup> pw: array<f32, WG>;   // the chunk's weights exp(s − m_new)

@compute @workgroup_size(WG)
fn wg(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
      @builtin(local_invocation_index) lid: u32) {
  let i = wid.y * nwg.x + wid.x; // uniform across the workgroup
  if (i >= P.n * P.nHeads) { return; }
  let t = i / P.nHeads;
  let h = i % P.nHeads;
  let g = h / (P.nHeads / P.nKvHeads);
  let hd = P.headDim;
  let qo = (t * P.nHeads + h) * hd;
  let kvStride = P.nKvHeads * hd;
  for (var d = lid; d < hd; d += WG) { qs[d] = q[qo + d] * P.scale; }
  workgroupBarrier();
  var acc = array<f32, MAXD / 16u>(); // dims lid + j·WG (WG >= 16)
  var m = NEG;
  var l = 0.0;
  let len = P.pos0 + t + 1u;
  for (var c0 = 0u; c0 < len; c0 += WG) {
    let cnt = min(WG, len - c0);
    let p = c0 + lid;
    var s = NEG;
    if (lid < cnt) {
      let ko = p * kvStride + g * hd;
      s = 0.0;
      for (var j = 0u; j < hd; j++) { s += qs[j] * k[ko + j]; }
    }
    sc[lid] = s;
    workgroupBarrier();
    var mc = m;
    for (var j = 0u; j < cnt; j++) { mc = max(mc, sc[j]); }
    pw[lid] = select(0.0, exp(s - mc), lid < cnt);
    let corr = exp(m - mc);
    m = mc;
    workgroupBarrier();
    var ls = 0.0;
    for (var j = 0u; j < cnt; j++) { ls += pw[j]; }
    l = l * corr + ls;
    var jj = 0u;
    for (var d = lid; d < hd; d += WG) {
      var a = acc[jj] * corr;
      let vo = c0 * kvStride + g * hd + d;
      for (var j = 0u; j < cnt; j++) { a += pw[j] * v[vo + j * kvStride]; }
      acc[jj] = a;
      jj++;
    }
  }
  let inv = 1.0 / l;
  var jj = 0u;
  for (var d = lid; d < hd; d += WG) {
    out[qo + d] = acc[jj] * inv;
    jj++;
  }
}
