// Quality under forced decoding: run a text through the model in windows (each from scratch at positions
// 0..len-1, as the training script's held-out procedure does), read back every position's logits, and compute
// in float64 on the CPU: mean NLL / perplexity of the next tokens, and — against a stored reference
// distribution (the dense f32 model's) — top-1 agreement and KL(reference ‖ current).
//
// With early exit (evaluateEarlyExit): the same windows and figures, but each window runs as the early-exit loop
// under teacher forcing (generateEarlyExit with `forced`): its first token is the prompt (full depth, as the
// prefill always is), and every later position leaves at the layer the confidence rule picks, its skipped layers'
// K/V propagated from the exit state as in generation. The logits scored are the exit layer's head output, so
// perplexity, top-1 agreement and KL measure what early exit does to the predictions (the reference stays the
// dense f32 full-depth model). Sequential by nature (one sync per checkpoint per token), so slower than the
// batched pass: ≈ the decode time of the same number of tokens.

import type { Gpu } from '../gpu/device';
import { Recorder } from '../gpu/recorder';
import type { GpuModel } from '../model/transformer';
import { exitStats, type EarlyExitRule } from '../techniques/early-exit';
import { generateEarlyExit } from './dynamic';

export interface QualityFigures {
  nll: number; // mean NLL, nats per predicted token
  perplexity: number; // exp(nll)
  tokens: number; // predicted tokens
  top1_agreement: number | null; // fraction of positions whose argmax equals the reference's
  kl: number | null; // mean KL(reference ‖ this), nats
}

/** The reference's log-probabilities (positions × vocab, f32) and argmaxes, kept to compare later runs. */
export interface ReferenceDist {
  key: string; // what text/window it belongs to
  vocab: number;
  logp: Float32Array;
  top1: Int32Array;
}

function logSoftmaxRow(src: Float32Array, off: number, vocab: number, out: Float64Array): number {
  let max = -Infinity;
  let arg = 0;
  for (let j = 0; j < vocab; j++) {
    const v = src[off + j]!;
    if (v > max) {
      max = v;
      arg = j;
    }
  }
  let sum = 0;
  for (let j = 0; j < vocab; j++) sum += Math.exp(src[off + j]! - max);
  const lse = max + Math.log(sum);
  for (let j = 0; j < vocab; j++) out[j] = src[off + j]! - lse;
  return arg;
}

/** Accumulates the figures over predicted positions, in order (position p = the p-th predicted token overall). */
class Tally {
  nll = 0;
  agree = 0;
  kl = 0;
  p = 0;
  private readonly row: Float64Array;
  constructor(
    private readonly vocab: number,
    private readonly ref: ReferenceDist | null,
    private readonly keep: Float32Array | null,
    private readonly top1: Int32Array | null,
  ) {
    this.row = new Float64Array(vocab);
  }

  /** One predicted position: logits at all[off … off+vocab), the true next token `next`. */
  add(all: Float32Array, off: number, next: number): void {
    const { vocab, ref, row, p } = this;
    const arg = logSoftmaxRow(all, off, vocab, row);
    this.nll -= row[next]!;
    if (this.keep) for (let j = 0; j < vocab; j++) this.keep[p * vocab + j] = row[j]!;
    if (this.top1) this.top1[p] = arg;
    if (ref) {
      if (ref.top1[p] === arg) this.agree++;
      let k = 0;
      const o = p * vocab;
      for (let j = 0; j < vocab; j++) {
        const lr = ref.logp[o + j]!;
        k += Math.exp(lr) * (lr - row[j]!);
      }
      this.kl += k;
    }
    this.p++;
  }

  figures(): QualityFigures {
    const { p, ref } = this;
    const mean = p > 0 ? this.nll / p : Number.NaN;
    // KL ≥ 0; a distribution equal to the reference can sum to −1e-10 in rounding: clamp
    return { nll: mean, perplexity: Math.exp(mean), tokens: p, top1_agreement: ref ? this.agree / p : null, kl: ref ? Math.max(0, this.kl / p) : null };
  }
}

/** Predicted positions of `n` ids in windows of W (each window predicts its length − 1). */
function predictedCount(n: number, W: number): number {
  let p = 0;
  for (let s = 0; s < n; s += W) p += Math.max(0, Math.min(W, n - s) - 1);
  return p;
}

/**
 * Forced decoding of `ids` in windows of `window` tokens. Pass `reference` to get agreement and KL against it;
 * pass keep = true to get this run's distribution back (to serve as the reference for later runs).
 */
export async function evaluateForced(
  gpu: Gpu,
  model: GpuModel,
  ids: readonly number[],
  window: number,
  opts: { reference?: ReferenceDist | null; keep?: boolean; key?: string; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ figures: QualityFigures; dist: ReferenceDist | null }> {
  const vocab = model.cfg.vocabSize;
  const W = Math.min(window, model.maxSeq);
  const predicted = predictedCount(ids.length, W);
  const keep = opts.keep ? new Float32Array(predicted * vocab) : null;
  const top1 = opts.keep ? new Int32Array(predicted) : null;
  const ref = opts.reference ?? null;
  if (ref && ref.top1.length !== predicted) throw new Error(`reference covers ${ref.top1.length} positions, this text has ${predicted}`);
  const tally = new Tally(vocab, ref, keep, top1);
  const logits = gpu.pool.alloc('quality.logits', [W, vocab], 'f32', 'activations');
  try {
    for (let s = 0; s < ids.length; s += W) {
      const win = ids.slice(s, s + W);
      if (win.length < 2) break;
      const t = gpu.pool.fromArray('quality.ids', [win.length], new Uint32Array(win), 'activations');
      const rec = new Recorder(gpu);
      model.forward(rec, t, win.length, 0, logits, true);
      rec.submit();
      const all = new Float32Array(await gpu.pool.read(logits, win.length * vocab * 4));
      gpu.pool.release(t);
      for (let i = 0; i + 1 < win.length; i++) tally.add(all, i * vocab, win[i + 1]!);
      opts.onProgress?.(Math.min(s + W, ids.length), ids.length);
    }
  } finally {
    gpu.pool.release(logits);
    model.releasePrefillActs();
  }
  return { figures: tally.figures(), dist: keep && top1 ? { key: opts.key ?? '', vocab, logp: keep, top1 } : null };
}

/**
 * Forced decoding with early exit (see the header): the figures, plus the exit layers of every predicted token
 * after each window's first (whose prediction comes from the full-depth prefill), as exitStats counts them.
 */
export async function evaluateEarlyExit(
  gpu: Gpu,
  model: GpuModel,
  ids: readonly number[],
  window: number,
  rule: EarlyExitRule,
  reference: ReferenceDist | null,
): Promise<{ figures: QualityFigures; exit: { avg_layers: number; histogram: number[] } }> {
  const vocab = model.cfg.vocabSize;
  const L = model.layers.length;
  const W = Math.min(window, model.maxSeq);
  const predicted = predictedCount(ids.length, W);
  if (reference && reference.top1.length !== predicted) throw new Error(`reference covers ${reference.top1.length} positions, this text has ${predicted}`);
  const tally = new Tally(vocab, reference, null, null);
  const layers: number[] = [L]; // exitStats skips the first entry
  const kept = gpu.pool.alloc('quality.exit_logits', [W, vocab], 'f32', 'activations'); // (window − 1, vocab) used
  try {
    for (let s = 0; s < ids.length; s += W) {
      const win = ids.slice(s, s + W);
      if (win.length < 2) break;
      const forced = win.slice(1);
      const sampling = { temperature: 0, topK: 0, topP: 1, seed: 1, maxNewTokens: forced.length };
      const r = await generateEarlyExit(gpu, model, [win[0]!], { sampling, ...rule, forced, keepLogits: kept });
      if (r.ids.length !== forced.length) throw new Error(`early-exit evaluation: ${r.ids.length} of ${forced.length} positions decoded`);
      const all = new Float32Array(await gpu.pool.read(kept, forced.length * vocab * 4));
      for (let i = 0; i < forced.length; i++) tally.add(all, i * vocab, forced[i]!);
      layers.push(...r.exitLayers!.slice(1));
    }
  } finally {
    gpu.pool.release(kept);
    model.releasePrefillActs();
  }
  const st = exitStats(layers, L);
  return { figures: tally.figures(), exit: { avg_layers: st.avgLayers, histogram: st.histogram } };
}
