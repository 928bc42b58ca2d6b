// confidence.wgsl — how sure the model is about its next token, from one row of logits: early exit's test.
//   z: (n) logits (finite).  m = max z,  S = Σ exp(z_i − m),  T = Σ exp(z_i − m)·(z_i − m)
//   maxprob = 1 / S                       (the softmax probability of the argmax, temperature 1)
//   entropy = ln S − T / S                (−Σ p_i ln p_i in nats, p = softmax(z))
//   out[0] = argmax (the FIRST index of the max) as u32,
//   out[1] = bitcast<u32>(maxprob) when criterion == 0, bitcast<u32>(entropy) when criterion == 1.
//   The id sits first so that `out` can be bound directly as the next step's embedding ids (greedy), and a
//   sample kernel may overwrite out[0] with a sampled id; the host reads 8 bytes: (id, confidence).
//
// bindings (group 0):
//   0 uniform  Params { n: u32, criterion: u32 (0 = maxprob, 1 = entropy) }
//   1 read     z:   array<f32> (n)
//   2 rw       out: array<u32> (>= 2)
//
// dispatch: one workgroup of WG threads (entry point `confidence`, the only variant). Each thread keeps an
//   online (max, first argmax, S, T) over its strided slice of z, rescaling S and T when its max grows:
//   with d = m_old − m_new:  T ← e^d·(T + d·S),  S ← e^d·S  (+ the new term). One barrier; thread 0 merges the
//   WG partials in thread order with the same rescaling and writes out. No shared-memory tree (barriers are
//   the expensive part on SwiftShader; a vocabulary of 1k–150k is a few thousand loads per thread at most).

struct Params { n: u32, criterion: u32 }

override WG: u32 = 64;

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

var<workgroup> pm: array<f32, WG>; // per-thread max
var<workgroup> ps: array<f32, WG>; // per-thread S relative to its max
var<workgroup> pt: array<f32, WG>; // per-thread T relative to its max
var<workgroup> pi: array<u32, WG>; // per-thread first argmax (0xffffffff: empty slice)

const NONE: u32 = 0xffffffffu;

@compute @workgroup_size(WG)
fn confidence(@builtin(local_invocation_index) lid: u32) {
  var m = 0.0;
  var s = 0.0;
  var t = 0.0;
  var bi = NONE;
  for (var i = lid; i < P.n; i += WG) {
    let v = z[i];
    if (bi == NONE) {
      m = v; s = 1.0; t = 0.0; bi = i;
    } else if (v > m) {
      let d = m - v; // < 0: the old terms shrink relative to the new max
      let e = exp(d);
      t = e * (t + d * s);
      s = e * s + 1.0;
      m = v; bi = i;
    } else {
      let d = v - m;
      let e = exp(d);
      s += e;
      t += e * d;
    }
  }
  pm[lid] = m; ps[lid] = s; pt[lid] = t; pi[lid] = bi;
  workgroupBarrier();
  if (lid != 0u) { return; }
  var gm = 0.0;
  var gi = NONE;
  for (var j = 0u; j < WG; j++) {
    let i = pi[j];
    if (i == NONE) { continue; }
    if (gi == NONE || pm[j] > gm || (pm[j] == gm && i < gi)) { gm = pm[j]; gi = i; }
  }
  var gs = 0.0;
  var gt = 0.0;
  for (var j = 0u; j < WG; j++) {
    if (pi[j] == NONE) { continue; }
    let d = pm[j] - gm; // <= 0
    let e = exp(d);
    gs += e * ps[j];
    gt += e * (pt[j] + d * ps[j]);
  }
  var c = 1.0 / gs;
  if (P.criterion == 1u) { c = log(gs) - gt / gs; }
  out[0] = gi;
  out[1] = bitcast<u32>(c);
}
