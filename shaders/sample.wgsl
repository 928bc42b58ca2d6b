// sample.wgsl — pick the next token on the GPU: greedy argmax, or temperature / top-k / top-p sampling, so
// only a token id (4 bytes) is read back per step. One workgroup does everything (vocab up to ~152k).
//
// argmax: out[0] = the first index of the max of x[0..n).
// sample: exactly the algorithm in src/ref/sample.ts (read its header), with every threshold a logit value:
//   1. max (and argmax; temperature <= 0 returns it).   e_i = exp((z_i − m) / T).
//   2. top-k: τk = the topK-th largest logit = the largest key τ with count(key_i >= τ) >= topK.
//   3. top-p: τp = the largest key τ >= τk with sum{ e_i : key_i >= τ, key_i >= τk } >= topP · Z1, capped at the
//      max's key (topP <= 0 keeps the max group).   Z1 = sum{ e_i : key_i >= τk }.
//   4. draw: thread j sums the kept e_i of its contiguous chunk of ids; thread 0 scans the chunk sums for the
//      first chunk where the cumulative sum reaches u · total; that chunk's thread walks its ids in order.
//   Keys: a logit's f32 bits mapped to a u32 that orders like the value (-0 mapped to +0), so comparisons of
//   keys are exactly comparisons of logits. Steps 2 and 3 are one radix select on the key, 4 bits per pass
//   (8 passes): each thread bins the weight (1 for counting, e_i for mass) of the ids whose key matches the
//   prefix found so far by their next 4 bits; 16 threads sum the bins' columns; every thread then picks the
//   highest bin where (mass above the prefix) + (mass of bins >= b) reaches the goal. Weights for counting
//   are exact in f32 (counts < 2^24). Exps are only evaluated for ids still in play.
//
// bindings (group 0):
//   argmax: 0 uniform ArgmaxParams { n: u32 }; 1 read x: array<f32>; 2 rw out: array<u32> (>= 1 element)
//   sample: 0 uniform SampleParams { n: u32, temperature: f32, topK: u32 (0 = off), topP: f32 (1 = off),
//           u: f32 in [0, 1) }; 1 read logits: array<f32>; 2 rw out: array<u32> (>= 1 element)
//
// dispatch: one workgroup of WG threads, 16 <= WG (<= 256 for argmax; <= 128 for sample, whose bins use
//   16·WG·4 bytes of shared memory: 8 KiB at WG = 128). Barriers: 1 for argmax; 3 per radix pass and up to 6 more
//   for sample. On SwiftShader a barrier costs in proportion to WG, so the spec picks WG = 32 there (128 on GPUs).

struct ArgmaxParams { n: u32 }
struct SampleParams { n: u32, temperature: f32, topK: u32, topP: f32, u: f32 }

override WG: u32 = 128;

@group(0) @binding(0) var<uniform> A: ArgmaxParams;
@group(0) @binding(0) var<uniform> S: SampleParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

var<workgroup> pv: array<f32, WG>; // per-thread partial values (max, sums)
var<workgroup> pi: array<u32, WG>; // per-thread partial argmax
var<workgroup> bins: array<f32, WG * 16u>; // [thread][bin]
var<workgroup> tot: array<f32, 16>;
var<workgroup> pickChunk: u32; // the draw: chunk chosen by thread 0,
var<workgroup> pickBase: f32;  // the cumulative weight before it,
var<workgroup> pickTarget: f32; // and u · total

/** Each thread's strided max (first index on ties) → shared; returns after the barrier. */
fn partialMax(lid: u32, n: u32) {
  var bv = 0.0;
  var bi = 0xffffffffu;
  for (var i = lid; i < n; i += WG) {
    let z = x[i];
    if (bi == 0xffffffffu || z > bv) { bv = z; bi = i; }
  }
  pv[lid] = bv;
  pi[lid] = bi;
  workgroupBarrier();
}

struct Best { v: f32, i: u32 }

/** Reduce the partials in thread order: (max, first index). Any thread may call it after partialMax. */
fn reduceMax() -> Best {
  var bv = 0.0;
  var bi = 0xffffffffu;
  for (var j = 0u; j < WG; j++) {
    let i = pi[j];
    if (i == 0xffffffffu) { continue; }
    if (bi == 0xffffffffu || pv[j] > bv || (pv[j] == bv && i < bi)) { bv = pv[j]; bi = i; }
  }
  return Best(bv, bi);
}

@compute @workgroup_size(WG)
fn argmax(@builtin(local_invocation_index) lid: u32) {
  partialMax(lid, A.n);
  if (lid == 0u) { out[0] = reduceMax().i; }
}

/** A u32 that orders like the f32 value (−0 → +0). */
fn okey(z: f32) -> u32 {
  var b = bitcast<u32>(z);
  if (b == 0x80000000u) { b = 0u; }
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

/** Weight of logit z: 1 when counting (top-k), its unnormalised probability otherwise. */
fn weight(z: f32, counting: bool, m: f32) -> f32 {
  if (counting) { return 1.0; }
  return exp((z - m) / S.temperature);
}

/**
 * The largest key τ >= kmin with sum{ weight_i : key_i >= τ, key_i >= kmin } >= goal, by radix select
 * (4 bits per pass). If no τ reaches the goal (rounding), the search ends at the lowest bins.
 */
fn radixSelect(lid: u32, counting: bool, kmin: u32, goal: f32, m: f32) -> u32 {
  var prefix = 0u;
  var above = 0.0; // weight of ids whose key is above the prefix's range
  for (var step = 0u; step < 8u; step++) {
    let shift = 28u - 4u * step;
    var loc = array<f32, 16>(); // zeroed explicitly: SwiftShader did not re-zero `var loc: array<f32, 16>;` per pass
    for (var i = lid; i < S.n; i += WG) {
      let z = x[i];
      let key = okey(z);
      if (key < kmin) { continue; }
      if (step > 0u && (key >> (shift + 4u)) != (prefix >> (shift + 4u))) { continue; }
      loc[(key >> shift) & 15u] += weight(z, counting, m);
    }
    for (var b = 0u; b < 16u; b++) { bins[lid * 16u + b] = loc[b]; }
    workgroupBarrier();
    if (lid < 16u) {
      var s = 0.0;
      for (var j = 0u; j < WG; j++) { s += bins[j * 16u + lid]; }
      tot[lid] = s;
    }
    workgroupBarrier();
    var acc = above;
    var chosen = 0u;
    for (var j = 0u; j < 16u; j++) {
      let b = 15u - j;
      let s = acc + tot[b];
      if (s >= goal) { chosen = b; break; }
      acc = s;
    }
    above = acc;
    prefix |= chosen << shift;
    workgroupBarrier(); // everyone has read tot before the next step rewrites bins and tot
  }
  return prefix;
}

/** Sum of kept weights (key >= tau) over this thread's contiguous chunk of ids. */
fn chunkSum(lo: u32, hi: u32, tau: u32, m: f32) -> f32 {
  var s = 0.0;
  for (var i = lo; i < hi; i++) {
    let z = x[i];
    if (okey(z) >= tau) { s += weight(z, false, m); }
  }
  return s;
}

@compute @workgroup_size(WG)
fn sample(@builtin(local_invocation_index) lid: u32) {
  let n = S.n;
  partialMax(lid, n);
  let mx = reduceMax();
  let m = mx.v;
  workgroupBarrier(); // every thread has read the partials before pv is reused
  if (S.temperature <= 0.0) {
    if (lid == 0u) { out[0] = mx.i; }
    return;
  }
  let kmax = okey(m);

  // top-k threshold (exact: counts)
  var tauK = 0u;
  if (S.topK >= 1u && S.topK < n) { tauK = radixSelect(lid, true, 0u, f32(S.topK), m); }

  // top-p threshold over the top-k set
  var tau = tauK;
  if (S.topP < 1.0) {
    pv[lid] = chunkSumStrided(lid, tauK, m);
    workgroupBarrier();
    var z1 = 0.0;
    for (var j = 0u; j < WG; j++) { z1 += pv[j]; }
    workgroupBarrier(); // pv is reused below
    tau = min(max(radixSelect(lid, false, tauK, S.topP * z1, m), tauK), kmax);
  }

  // draw: chunk sums, a scan by thread 0, a walk by the chosen chunk's thread
  let chunk = (n + WG - 1u) / WG;
  let lo = min(lid * chunk, n);
  let hi = min(lo + chunk, n);
  pv[lid] = chunkSum(lo, hi, tau, m);
  workgroupBarrier();
  if (lid == 0u) {
    var total = 0.0;
    for (var j = 0u; j < WG; j++) { total += pv[j]; }
    let goal = S.u * total;
    var c = 0.0;
    var sel = 0xffffffffu;
    var base = 0.0;
    for (var j = 0u; j < WG; j++) {
      if (pv[j] > 0.0) {
        sel = j; // the last non-empty chunk if none reaches the goal
        base = c;
        if (c + pv[j] >= goal) { break; }
      }
      c += pv[j];
    }
    if (sel == 0xffffffffu) { out[0] = mx.i; } // no kept weight at all (only with non-finite logits)
    pickChunk = sel;
    pickBase = base;
    pickTarget = goal;
  }
  workgroupBarrier();
  if (lid == pickChunk) {
    let goal = pickTarget;
    var c = pickBase;
    var last = lo;
    for (var i = lo; i < hi; i++) {
      let z = x[i];
      if (okey(z) < tau) { continue; }
      c += weight(z, false, m);
      last = i;
      if (c >= goal) { break; }
    }
    out[0] = last;
  }
}

/** Strided sum of kept weights (key >= tau) for this thread. */
fn chunkSumStrided(lid: u32, tau: u32, m: f32) -> f32 {
  var s = 0.0;
  for (var i = lid; i < S.n; i += WG) {
    let z = x[i];
    if (okey(z) >= tau) { s += weight(z, false, m); }
  }
  return s;
}
