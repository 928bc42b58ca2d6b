// Early exit (CALM, Schuster et al. 2022; LayerSkip, Elhoushi et al. 2024): per decoded token, after each
// checkpoint layer the shared final norm + LM head is applied to the residual stream, and the token leaves
// the network when the head is confident enough. Pure logic here (the rule, the statistics) plus its float64
// CPU reference (EarlyExitRef); the GPU loop is generateEarlyExit in src/engine/dynamic.ts.
//
// The rule (exactly what the GPU loop and EarlyExitRef do):
//   - The prompt (prefill) runs the full model; the first generated token never exits early.
//   - Checkpoints: after c layers for c = minLayer, minLayer + every, minLayer + 2·every, … while c < nLayers.
//     At checkpoint c: logits = lm_head(norm(x_c)·finalNorm), confidence from src/ref/confidence.ts on them
//     (softmax at temperature 1, whatever the sampling temperature): exit when
//       'maxprob': max softmax probability >= threshold      (threshold 1.01 never exits)
//       'entropy': entropy (nats) < threshold                 (threshold <= 0 never exits)
//     The token is picked from the exit logits with the ordinary rule (argmax, or src/ref/sample.ts with this
//     step's u; one u per generated token, drawn whether or not the token exits). At c = nLayers it always exits.
//   - KV cache of skipped layers (CALM's state propagation): for l = c … nLayers−1, layer l's K/V row at this
//     position is computed from the EXIT hidden state x_c: K, V = rope(Wk·norm(x_c)·inputNorm_l), Wv·(…).
//     Later tokens that run layer l attend to that row, so every row they read is written and consistent.
//     Chosen over the alternatives: copying the exit layer's K/V (wrong projection for layer l), or running the
//     skipped layers lazily later (LayerSkip's cache reuse: costs the compute the exit saved). Propagation is
//     2 GEMVs per skipped layer (K and V) instead of 7, and LayerSkip-trained models keep intermediate states
//     close to the final ones, which is what makes the propagated rows good approximations.
//   - Recorded per token: the exit layer (layers run, 1 … nLayers; nLayers for the prefill token).

import type { ModelConfig } from '../model/config';
import type { HostWeights } from '../model/weights';
import { confidence } from '../ref/confidence';
import { refBlock, refEmbed, refHead, refInvFreq, type RefKv, refNorm, refWriteKv } from '../ref/forward';
import { sample, type SampleOptions } from '../ref/sample';

export type ExitCriterion = 'maxprob' | 'entropy';

export interface EarlyExitRule {
  /** 'maxprob': exit when max prob >= threshold; 'entropy': exit when entropy (nats) < threshold. */
  threshold: number;
  /** First checkpoint: after this many layers (>= 1). */
  minLayer: number;
  criterion: ExitCriterion;
  /** Check every k layers from minLayer on (default 1). */
  every?: number;
}

/** Layer counts after which the head is tried, ascending, all < nLayers (the full model always exits). */
export function checkpoints(nLayers: number, rule: EarlyExitRule): number[] {
  const every = rule.every ?? 1;
  if (!(Number.isInteger(rule.minLayer) && rule.minLayer >= 1)) throw new Error(`early exit: minLayer ${rule.minLayer} must be an integer >= 1`);
  if (!(Number.isInteger(every) && every >= 1)) throw new Error(`early exit: every ${every} must be an integer >= 1`);
  if (!Number.isFinite(rule.threshold)) throw new Error(`early exit: threshold ${rule.threshold} must be finite`);
  const out: number[] = [];
  for (let c = rule.minLayer; c < nLayers; c += every) out.push(c);
  return out;
}

/** The exit test on a confidence value (maxprob or entropy, per the rule's criterion). */
export function shouldExit(conf: number, rule: EarlyExitRule): boolean {
  return rule.criterion === 'maxprob' ? conf >= rule.threshold : conf < rule.threshold;
}

export interface ExitStats {
  /** Mean layers run per decoded token (tokens after the first; nLayers when there are none). */
  avgLayers: number;
  /** histogram[c] = tokens that ran c layers (index 0 unused), over the same tokens. */
  histogram: number[];
}

export function exitStats(exitLayers: readonly number[], nLayers: number): ExitStats {
  const histogram = new Array<number>(nLayers + 1).fill(0);
  const decoded = exitLayers.slice(1);
  for (const c of decoded) histogram[c]! += 1;
  const avgLayers = decoded.length ? decoded.reduce((a, b) => a + b, 0) / decoded.length : nLayers;
  return { avgLayers, histogram };
}

export interface EarlyExitRefResult {
  ids: number[];
  exitLayers: number[];
  /** Per checkpoint evaluated, |confidence − threshold| (how close each exit decision was). */
  decisionMargins: number[];
  /** Per generated token, the gap between the top two logits it was picked from (greedy robustness). */
  top2Margins: number[];
  /** The exit hidden state (residual stream, hidden) of each decode step (index i: the step that picked token i). */
  exitHidden: Float64Array[];
}

/**
 * Float64 CPU reference of the early-exit loop (the rule above), built from the per-kernel references with
 * the same block as src/ref/forward.ts. Its KV cache is readable so tests can check propagation.
 */
export class EarlyExitRef {
  readonly k: Float64Array[]; // per layer: (maxSeq, kvDim)
  readonly v: Float64Array[]; // per layer: (maxSeq, kvDim)
  private readonly invFreq: Float64Array | null; // (headDim/2), rope only
  readonly kvDim: number;

  constructor(readonly cfg: ModelConfig, readonly w: HostWeights, readonly maxSeq: number) {
    this.kvDim = cfg.nKvHeads * cfg.headDim;
    this.invFreq = refInvFreq(cfg);
    this.k = w.layers.map(() => new Float64Array(maxSeq * this.kvDim));
    this.v = w.layers.map(() => new Float64Array(maxSeq * this.kvDim));
  }

  private kvOf(l: number): RefKv {
    return { k: this.k[l]!, v: this.v[l]! };
  }

  /** One block on x (n, hidden) at positions pos0.. (src/ref/forward.ts's refBlock, on this cache). */
  block(l: number, x: Float64Array, n: number, pos0: number): Float64Array {
    return refBlock(this.cfg, this.w.layers[l]!, x, n, pos0, this.invFreq, this.kvOf(l));
  }

  /** CALM propagation: layer l's K/V row at `pos` from the exit hidden state x (hidden). */
  propagate(l: number, x: Float64Array, pos: number): void {
    const lw = this.w.layers[l]!;
    refWriteKv(this.cfg, lw, refNorm(this.cfg, x, lw.inputNorm, lw.inputNormBias, 1), 1, pos, this.invFreq, this.kvOf(l));
  }

  /** Logits (vocab) of the last row of x (n, hidden): the shared final norm + lm_head. */
  head(x: Float64Array, n: number): Float64Array {
    const H = this.cfg.hiddenSize;
    return refHead(this.cfg, this.w, x.subarray((n - 1) * H, n * H), 1);
  }

  /**
   * Generate nNew tokens with the early-exit rule. `sampling` null (or temperature 0) = greedy; otherwise
   * `rand` gives each generated token's u (one per token, in order, as the GPU loop draws them).
   */
  generate(prompt: number[], nNew: number, rule: EarlyExitRule, sampling: SampleOptions | null = null, rand: () => number = () => 0): EarlyExitRefResult {
    const { hiddenSize: H, nLayers: L } = this.cfg;
    const cps = checkpoints(L, rule);
    const pick = (z: Float64Array, u: number) => (sampling && sampling.temperature > 0 ? sample(z, sampling, u) : confidence(z).argmax);
    const top2 = (z: Float64Array) => {
      const s = Array.from(z).sort((a, b) => b - a);
      return s.length > 1 ? s[0]! - s[1]! : Infinity;
    };
    const res: EarlyExitRefResult = { ids: [], exitLayers: [], decisionMargins: [], top2Margins: [], exitHidden: [] };
    const n = prompt.length;
    let x = refEmbed(this.cfg, this.w, prompt, 0);
    for (let l = 0; l < L; l++) x = this.block(l, x, n, 0);
    let z = this.head(x, n);
    res.ids.push(pick(z, rand()));
    res.exitLayers.push(L);
    res.top2Margins.push(top2(z));
    res.exitHidden.push(x.slice((n - 1) * H));
    for (let i = 1; i < nNew; i++) {
      const pos = n + i - 1;
      const u = rand();
      x = refEmbed(this.cfg, this.w, [res.ids[i - 1]!], pos);
      let c = 0;
      for (const cp of [...cps, L]) {
        while (c < cp) x = this.block(c++, x, 1, pos);
        z = this.head(x, 1);
        if (cp === L) break;
        const conf = confidence(z);
        const value = rule.criterion === 'maxprob' ? conf.maxProb : conf.entropy;
        res.decisionMargins.push(Math.abs(value - rule.threshold));
        if (shouldExit(value, rule)) break;
      }
      for (let l = c; l < L; l++) this.propagate(l, x, pos);
      res.ids.push(pick(z, u));
      res.exitLayers.push(c);
      res.top2Margins.push(top2(z));
      res.exitHidden.push(x.slice());
    }
    return res;
  }
}
