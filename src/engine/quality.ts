// Quality under forced decoding: run a text through the model in windows (each from scratch at positions
// 0..len-1, as the training script's held-out procedure does), read back every position's logits, and compute
// in float64 on the CPU: mean NLL / perplexity of the next tokens, and — against a stored reference
// distribution (the dense f32 model's) — top-1 agreement and KL(reference ‖ current).

import type { Gpu } from '../gpu/device';
import { Recorder } from '../gpu/recorder';
import type { GpuModel } from '../model/transformer';

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
  const predicted = ids.length - Math.ceil(ids.length / W); // each window predicts len-1 tokens
  const keep = opts.keep ? new Float32Array(Math.max(0, predicted) * vocab) : null;
  const top1 = opts.keep ? new Int32Array(Math.max(0, predicted)) : null;
  const ref = opts.reference ?? null;
  if (ref && ref.top1.length !== predicted) throw new Error(`reference covers ${ref.top1.length} positions, this text has ${predicted}`);
  const row = new Float64Array(vocab);
  let nll = 0;
  let agree = 0;
  let kl = 0;
  let p = 0;
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
      for (let i = 0; i + 1 < win.length; i++, p++) {
        const arg = logSoftmaxRow(all, i * vocab, vocab, row);
        nll -= row[win[i + 1]!]!;
        if (keep) for (let j = 0; j < vocab; j++) keep[p * vocab + j] = row[j]!;
        if (top1) top1[p] = arg;
        if (ref) {
          if (ref.top1[p] === arg) agree++;
          let k = 0;
          const o = p * vocab;
          for (let j = 0; j < vocab; j++) {
            const lr = ref.logp[o + j]!;
            k += Math.exp(lr) * (lr - row[j]!);
          }
          kl += k;
        }
      }
      opts.onProgress?.(Math.min(s + W, ids.length), ids.length);
    }
  } finally {
    gpu.pool.release(logits);
    model.releasePrefillActs();
  }
  const mean = p > 0 ? nll / p : Number.NaN;
  return {
    figures: {
      nll: mean,
      perplexity: Math.exp(mean),
      tokens: p,
      top1_agreement: ref ? agree / p : null,
      kl: ref ? kl / p : null,
    },
    dist: keep && top1 ? { key: opts.key ?? '', vocab, logp: keep, top1 } : null,
  };
}
