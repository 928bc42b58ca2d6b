// Speculative decoding (Leviathan et al. 2023; Chen et al. 2023): a cheap draft proposes γ tokens one at a time,
// the target scores all of them (plus the pending token) in ONE batched forward, and a rule keeps a prefix
// of the proposals and adds one target token — so each target forward yields 1 … γ+1 tokens. Pure logic here
// (the acceptance rules, γ per round, the statistics) plus speculativeCpu, a CPU implementation of the whole
// loop on any model with RefModel's forward(ids, pos0, { exitLayer }) — the spec of the GPU loop
// (generateSpeculative in src/engine/dynamic.ts), which calls the same rule functions in the same order.
//
// A round, with the pending token x0 (emitted, not yet run by the target) at position p:
//   γ' = roundGamma(γ, tokens still wanted, p, maxSeq)
//   draft: d_1 … d_γ' — d_j from the draft's distribution q_j after x0, d_1 … d_{j−1} (argmax at temperature 0;
//          else the sampling rule of src/ref/sample.ts with u_j = draftU(rand()), drawn in order j = 1 … γ')
//   target: one forward of [x0, d_1 … d_γ'] at positions p … p+γ' → target logits rows 0 … γ'
//   verify (p_j = target row j−1, the kept and renormalised distribution of src/ref/sample.ts, the same
//   temperature / top-k / top-p as the draft's q_j):
//     temperature 0: accept d_j while d_j == argmax(p_j); the first disagreement emits argmax(p_j) instead;
//                    if all agree, emit argmax(p_{γ'+1}). Exactly the target's greedy output.
//     sampling:      for j = 1 …: r = rand(); accept d_j when r·q_j(d_j) < p_j(d_j) (probability min(1, p/q);
//                    if q_j(d_j) = 0, which only rounding can cause, accept iff p_j(d_j) > 0); on the first
//                    rejection emit walk(max(0, p_j − q_j), rand()) (p_j itself if that is all zero) and stop;
//                    if all are accepted, emit walk(p_{γ'+1}, rand()). The output sequence is distributed
//                    exactly as the target's own sampling (the theorem of both papers).
//     walk(w, u): ids in increasing order, accumulating w; the first id with cumulative >= u·Σw (the draw of
//     src/ref/sample.ts); falls back to the last id with w > 0.
//   Rejected positions are rolled back by position: the next round writes its K/V rows over them.
// The first token comes from the target's prefill (argmax, or sample with u = draftU(rand())), as generateLoop.
// Adaptive γ (optional): after a round with γ' > 0, γ+1 (up to gammaMax) when every proposal was accepted,
// γ−1 (down to 1) when fewer than half were, else unchanged.

import { mulberry32 } from '../ref/random';
import { argmax, sample, sampleDetail, type SampleOptions } from '../ref/sample';

export interface SpeculativeSettings {
  /** Draft tokens per round (>= 1); the starting value when adaptive. */
  gamma: number;
  /** Grow γ on full acceptance, shrink on early rejection. */
  adaptive?: boolean;
  /** Largest γ when adaptive (default 2·gamma, at most 16). */
  gammaMax?: number;
}

/** Per emitted token: 'accepted' = a draft proposal kept; 'corrected' = produced by the target (the prefill's
 *  first token, a correction after a rejection, or the bonus token after full acceptance). */
export type DraftKind = 'accepted' | 'corrected';

export interface Verdict {
  /** Draft tokens kept (a prefix). */
  accepted: number;
  /** The target's token appended after them. */
  token: number;
}

/** The largest γ any round may use (buffer sizes). */
export function gammaLimit(s: SpeculativeSettings): number {
  if (!(Number.isInteger(s.gamma) && s.gamma >= 1 && s.gamma <= 64)) throw new Error(`speculative: gamma ${s.gamma} must be an integer in 1..64`);
  if (!s.adaptive) return s.gamma;
  const max = s.gammaMax ?? Math.min(16, 2 * s.gamma);
  if (!(Number.isInteger(max) && max >= s.gamma && max <= 64)) throw new Error(`speculative: gammaMax ${max} must be an integer in gamma..64`);
  return max;
}

/** γ for this round: never more tokens than still wanted, never past the context (positions p … p+γ'). */
export function roundGamma(gamma: number, remaining: number, p: number, maxSeq: number): number {
  return Math.max(0, Math.min(gamma, remaining - 1, maxSeq - 1 - p));
}

/** γ for the next round (adaptive rule in the header); unchanged when not adaptive or nothing was drafted. */
export function nextGamma(gamma: number, accepted: number, drafted: number, s: SpeculativeSettings): number {
  if (!s.adaptive || drafted === 0) return gamma;
  if (accepted === drafted) return Math.min(gamma + 1, gammaLimit(s));
  if (2 * accepted < drafted) return Math.max(1, gamma - 1);
  return gamma;
}

/** A uniform as the GPU sampler sees it (rounded to f32, kept below 1): used on both paths for the same draw. */
export function draftU(u: number): number {
  return Math.min(Math.fround(u), Math.fround(1 - 2 ** -24));
}

type Rows = Float32Array | Float64Array;
const row = (rows: Rows, j: number, vocab: number) => rows.subarray(j * vocab, (j + 1) * vocab);

/** Temperature 0: keep proposals while they equal the target's argmax, then the target's argmax. */
export function verifyGreedy(drafted: readonly number[], target: Rows, vocab: number): Verdict {
  for (let j = 0; j < drafted.length; j++) {
    const t = argmax(row(target, j, vocab));
    if (t !== drafted[j]) return { accepted: j, token: t };
  }
  return { accepted: drafted.length, token: argmax(row(target, drafted.length, vocab)) };
}

/** The kept, renormalised distribution of one logits row (src/ref/sample.ts's rule; temperature > 0). */
export function keptProbs(logits: ArrayLike<number>, opts: SampleOptions): Float64Array {
  return sampleDetail(logits, opts, 0).probs!;
}

export function walk(w: ArrayLike<number>, u: number): number {
  let total = 0;
  for (let i = 0; i < w.length; i++) total += w[i]!;
  const goal = u * total;
  let c = 0;
  let last = -1;
  for (let i = 0; i < w.length; i++) {
    if (!(w[i]! > 0)) continue;
    c += w[i]!;
    last = i;
    if (c >= goal) return i;
  }
  if (last < 0) throw new Error('walk: no positive weight');
  return last;
}

/** Sampling: the rejection rule of the header. target: (γ'+1, vocab) logits rows; draft: (γ', vocab). */
export function verifySampled(drafted: readonly number[], target: Rows, draft: Rows, vocab: number, opts: SampleOptions, rand: () => number): Verdict {
  for (let j = 0; j < drafted.length; j++) {
    const p = keptProbs(row(target, j, vocab), opts);
    const q = keptProbs(row(draft, j, vocab), opts);
    const x = drafted[j]!;
    const r = rand();
    if (q[x]! > 0 ? r * q[x]! < p[x]! : p[x]! > 0) continue;
    const res = new Float64Array(vocab);
    let mass = 0;
    for (let i = 0; i < vocab; i++) mass += res[i] = Math.max(0, p[i]! - q[i]!);
    return { accepted: j, token: walk(mass > 0 ? res : p, rand()) };
  }
  return { accepted: drafted.length, token: walk(keptProbs(row(target, drafted.length, vocab), opts), rand()) };
}

/** Running statistics of a speculative run. */
export class SpecStats {
  proposed = 0;
  accepted = 0;
  /** Verify passes (the prefill is not counted). */
  targetForwards = 0;
  /** Tokens emitted by verify passes. */
  roundTokens = 0;
  /** γ' of each round. */
  readonly gammas: number[] = [];

  record(drafted: number, v: Verdict, emitted: number): void {
    this.proposed += drafted;
    this.accepted += v.accepted;
    this.targetForwards++;
    this.roundTokens += emitted;
    this.gammas.push(drafted);
  }

  get acceptanceRate(): number {
    return this.proposed ? this.accepted / this.proposed : 0;
  }

  get tokensPerTargetForward(): number {
    return this.targetForwards ? this.roundTokens / this.targetForwards : 0;
  }
}

/** A CPU model as RefModel is (forward returns (n, vocab) logits; pos0 may roll back). */
export interface CpuLm {
  readonly cfg: { vocabSize: number; nLayers: number };
  readonly maxSeq: number;
  forward(ids: number[], pos0: number, opts?: { exitLayer?: number }): Float64Array;
}

export interface CpuSpecResult {
  ids: number[];
  drafted: DraftKind[];
  stats: SpecStats;
}

/** The whole speculative loop on the CPU (draft: a separate model, or the target's first selfLayers layers). */
export function speculativeCpu(
  target: CpuLm,
  draft: CpuLm | { selfLayers: number },
  prompt: number[],
  sampling: SampleOptions & { seed: number; maxNewTokens: number },
  s: SpeculativeSettings,
): CpuSpecResult {
  gammaLimit(s);
  const V = target.cfg.vocabSize;
  const self = 'selfLayers' in draft ? draft.selfLayers : 0;
  const dm = 'selfLayers' in draft ? null : draft;
  if (dm && dm.cfg.vocabSize !== V) throw new Error(`speculative: draft vocab ${dm.cfg.vocabSize} != target vocab ${V}`);
  const greedy = !(sampling.temperature > 0);
  const rand = mulberry32(sampling.seed);
  const pick = (z: ArrayLike<number>, u: number) => (greedy ? argmax(z) : sample(z, sampling, draftU(u)));
  const lastRow = (z: Float64Array, n: number) => z.subarray((n - 1) * V, n * V);
  const n = prompt.length;
  const maxSeq = Math.min(target.maxSeq, dm ? dm.maxSeq : Infinity);
  const maxNew = Math.min(sampling.maxNewTokens, maxSeq - n);
  const seq = [...prompt];
  const out: CpuSpecResult = { ids: [], drafted: [], stats: new SpecStats() };
  if (maxNew <= 0) return out;
  const u0 = rand();
  const first = pick(lastRow(target.forward(prompt, 0), n), u0);
  seq.push(first);
  out.ids.push(first);
  out.drafted.push('corrected');
  let draftLen = 0; // positions the separate draft holds in its cache
  if (dm) {
    dm.forward(prompt, 0);
    draftLen = n;
  }
  let gamma = s.gamma;
  while (out.ids.length < maxNew) {
    const p = seq.length - 1;
    const g = roundGamma(gamma, maxNew - out.ids.length, p, maxSeq);
    const drafted: number[] = [];
    const q = new Float64Array(g * V);
    for (let j = 0; j < g; j++) {
      const u = greedy ? 0 : rand();
      let z: Float64Array;
      if (!dm) z = target.forward([j ? drafted[j - 1]! : seq[p]!], p + j, { exitLayer: self });
      else if (j === 0) z = lastRow(dm.forward(seq.slice(draftLen, p + 1), draftLen), p + 1 - draftLen);
      else z = dm.forward([drafted[j - 1]!], p + j);
      q.set(z, j * V);
      drafted.push(pick(z, u));
    }
    const t = target.forward([seq[p]!, ...drafted], p);
    const v = greedy ? verifyGreedy(drafted, t, V) : verifySampled(drafted, t, q, V, sampling, rand);
    if (dm && g > 0) draftLen = p + Math.min(v.accepted, g - 1) + 1;
    const tokens = [...drafted.slice(0, v.accepted), v.token];
    out.stats.record(g, v, tokens.length);
    tokens.forEach((id, i) => {
      seq.push(id);
      out.ids.push(id);
      out.drafted.push(i < v.accepted ? 'accepted' : 'corrected');
    });
    gamma = nextGamma(gamma, v.accepted, g, s);
  }
  return out;
}
