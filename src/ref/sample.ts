// CPU reference (float64) for shaders/sample.wgsl: greedy argmax and temperature / top-k / top-p sampling.
//
// argmax(x): the FIRST index of the maximum. (NaN logits are not supported, here or on the GPU.)
//
// sample(logits, { temperature: T, topK, topP }, u), u in [0, 1) the uniform random number for this step:
//   0. T <= 0 ⇒ argmax(logits).
//   1. m = max logit; weights e_i = exp((z_i − m) / T)  (unnormalised softmax(z / T); the max has weight 1).
//   2. top-k (active when 1 <= topK < n): τk = the topK-th largest logit (counting repeats); keep z_i >= τk,
//      so ties with the k-th value are all kept. Otherwise τk = −∞ (keep all). Z1 = sum of kept e_i.
//   3. top-p (active when topP < 1): among the kept logits, walk the DISTINCT values v1 > v2 > … and take the
//      first vj whose cumulative mass G_j = sum{ e_i : z_i >= vj, z_i >= τk } satisfies G_j >= topP · Z1; keep
//      z_i >= vj (the smallest set of highest-probability tokens with mass >= topP of the top-k set, ties
//      kept). topP <= 0 keeps only the tokens equal to the max. Otherwise τ = τk.
//   4. total = sum of kept e_i. Walk ids 0, 1, … in increasing order, accumulating kept e_i into C; return the
//      first kept id with C >= u · total; if none does (rounding), the last kept id.
//   Every threshold is a logit value, so the kept set depends only on comparisons of the given logits
//   (exact on the GPU as well) and on the sums G_j against topP · Z1; the drawn id depends on C against u · total.
//   The GPU computes those sums in f32 in a different order, so it returns the same id except when u · total
//   lies within rounding of some C, or topP · Z1 within rounding of some G_j: sampleDetail() reports both
//   margins so tests can skip exactly those cases. -0 and +0 compare equal (the GPU maps -0 to +0).

import type { Vec } from './linear';

export interface SampleOptions {
  /** 0 (or less) = greedy argmax. */
  temperature: number;
  /** Keep the topK largest logits (ties kept); 0 (or >= n) = off. */
  topK: number;
  /** Keep the smallest top set with this much mass; 1 (or more) = off. */
  topP: number;
}

export interface SampleDetail {
  id: number;
  /** The logit threshold τ: kept = logits >= τ (−∞ when all are kept; the max for argmax). */
  threshold: number;
  /** Kept, renormalised probabilities (zero where not kept); null for argmax. */
  probs: Float64Array | null;
  /** min_j |G_j − topP·Z1| / Z1 over the top-p groups (Infinity when top-p is off). */
  marginP: number;
  /** min over kept ids of |C − u·total| / total (Infinity for argmax). */
  marginU: number;
}

export function argmax(x: Vec): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

export function sample(logits: Vec, opts: SampleOptions, u: number): number {
  return sampleDetail(logits, opts, u).id;
}

export function sampleDetail(logits: Vec, opts: SampleOptions, u: number): SampleDetail {
  const n = logits.length;
  if (n === 0) throw new Error('sample: no logits');
  if (!(opts.temperature > 0)) {
    const id = argmax(logits);
    return { id, threshold: logits[id]!, probs: null, marginP: Infinity, marginU: Infinity };
  }
  const m = logits[argmax(logits)]!;
  const e = new Float64Array(n);
  for (let i = 0; i < n; i++) e[i] = Math.exp((logits[i]! - m) / opts.temperature);

  // 2. top-k: the topK-th largest value (with repeats).
  let tau = -Infinity;
  const sorted = Float64Array.from(logits).sort().reverse(); // descending
  if (opts.topK >= 1 && opts.topK < n) tau = sorted[opts.topK - 1]!;
  let z1 = 0;
  for (let i = 0; i < n; i++) if (logits[i]! >= tau) z1 += e[i]!;

  // 3. top-p: distinct values, descending, with their group masses.
  let marginP = Infinity;
  if (opts.topP < 1) {
    const target = opts.topP * z1;
    const mass = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const z = logits[i]! === 0 ? 0 : logits[i]!; // -0 → +0
      if (z >= tau) mass.set(z, (mass.get(z) ?? 0) + e[i]!);
    }
    let g = 0;
    let chosen: number | null = null;
    for (let j = 0; j < sorted.length; j++) {
      const v = sorted[j]! === 0 ? 0 : sorted[j]!;
      if (v < tau) break;
      if (j > 0 && (sorted[j - 1]! === 0 ? 0 : sorted[j - 1]!) === v) continue; // one entry per distinct value
      g += mass.get(v)!;
      marginP = Math.min(marginP, Math.abs(g - target) / z1);
      if (chosen === null && g >= target) chosen = v;
    }
    tau = chosen ?? tau; // chosen is null only when rounding puts G below topP·Z1 at the last group
  }

  // 4. draw
  let total = 0;
  for (let i = 0; i < n; i++) if (logits[i]! >= tau) total += e[i]!;
  const probs = new Float64Array(n);
  const target = u * total;
  let c = 0;
  let id = -1;
  let last = -1;
  let marginU = Infinity;
  for (let i = 0; i < n; i++) {
    if (!(logits[i]! >= tau)) continue;
    probs[i] = e[i]! / total;
    c += e[i]!;
    last = i;
    marginU = Math.min(marginU, Math.abs(c - target) / total);
    if (id < 0 && c >= target) id = i;
  }
  return { id: id >= 0 ? id : last, threshold: tau, probs, marginP, marginU };
}
