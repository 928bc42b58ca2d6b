// Float64 CPU reference of the whole forward pass: the spec the GPU forward (src/model/transformer.ts) is tested
// against. It only composes the per-kernel references (embed, rmsnorm, linear, rope, attention, swiglu, argmax);
// it implements no math of its own. Llama / Qwen2 block (Qwen2 adds q/k/v biases):
//   x = embed(ids)
//   per layer:  a = rmsnorm(x)·inputNorm;  q, k, v = q(a)+bq, k(a)+bk, v(a)+bv;  q, k = rope(q), rope(k)
//               K[pos], V[pos] = k, v   (cache append)
//               x = x + o(attention(q, K, V))          causal over positions 0..pos, GQA
//               m = rmsnorm(x)·postNorm;  x = x + down(silu(gate(m)) · up(m))
//   logits = lm_head(rmsnorm(x)·finalNorm)
// GPT-2 (layernorm, learned positions, gelu, fused qkv) would be another `block` beside llamaBlock.

import type { ModelConfig } from '../model/config';
import type { HostWeights, LayerWeights } from '../model/weights';
import { swiglu } from './activation';
import { attention } from './attention';
import { embed } from './embedding';
import { linear } from './linear';
import { rmsnorm } from './norm';
import { rope, ropeInvFreq } from './rope';
import { argmax } from './sample';

export interface RefForwardOptions {
  /** Run only the first `exitLayer` blocks, then the final norm + lm_head (early exit). Default: all. */
  exitLayer?: number;
}

export class RefModel {
  readonly maxSeq: number;
  /** Positions currently held in the KV cache. */
  length = 0;
  private readonly invFreq: Float64Array; // (headDim/2)
  private readonly kCache: Float64Array[]; // per layer: (maxSeq, nKvHeads*headDim)
  private readonly vCache: Float64Array[]; // per layer: (maxSeq, nKvHeads*headDim)

  constructor(
    readonly cfg: ModelConfig,
    readonly w: HostWeights,
    maxSeq = cfg.maxSeq,
  ) {
    if (w.layers.length !== cfg.nLayers) throw new Error(`RefModel: ${w.layers.length} layers of weights for nLayers ${cfg.nLayers}`);
    this.maxSeq = maxSeq;
    this.invFreq = ropeInvFreq(cfg.headDim, cfg.ropeTheta, cfg.headDim, cfg.ropeScaling);
    const kvDim = cfg.nKvHeads * cfg.headDim;
    this.kCache = w.layers.map(() => new Float64Array(maxSeq * kvDim));
    this.vCache = w.layers.map(() => new Float64Array(maxSeq * kvDim));
  }

  /**
   * Run ids at positions pos0..pos0+n−1, writing their K/V into the cache; returns logits (n, vocab).
   * pos0 may be below `length` (rolling back, as speculative decoding does): later positions are dropped.
   */
  forward(ids: number[], pos0: number, opts: RefForwardOptions = {}): Float64Array {
    const { cfg, w } = this;
    const n = ids.length;
    const exitLayer = opts.exitLayer ?? cfg.nLayers;
    if (n === 0) throw new Error('RefModel.forward: no ids');
    if (!(Number.isInteger(pos0) && pos0 >= 0 && pos0 <= this.length))
      throw new Error(`RefModel.forward: pos0 ${pos0} must be in [0, ${this.length}] (positions held in the cache)`);
    if (pos0 + n > this.maxSeq) throw new Error(`RefModel.forward: positions up to ${pos0 + n - 1} exceed maxSeq ${this.maxSeq}`);
    if (!(Number.isInteger(exitLayer) && exitLayer >= 1 && exitLayer <= cfg.nLayers))
      throw new Error(`RefModel.forward: exitLayer ${exitLayer} must be in [1, ${cfg.nLayers}]`);
    for (const id of ids) if (!(Number.isInteger(id) && id >= 0 && id < cfg.vocabSize)) throw new Error(`RefModel.forward: token id ${id} outside [0, ${cfg.vocabSize})`);

    let x = embed(w.embed, ids, cfg.hiddenSize); // (n, hidden)
    for (let l = 0; l < exitLayer; l++) x = this.llamaBlock(l, w.layers[l]!, x, n, pos0);
    this.length = pos0 + n;
    const xf = rmsnorm(x, w.finalNorm, n, cfg.hiddenSize, cfg.rmsNormEps); // (n, hidden)
    return linear(w.lmHead, xf, cfg.vocabSize, cfg.hiddenSize, n); // (n, vocab)
  }

  /** Forget every cached position. */
  reset(): void {
    this.length = 0;
  }

  private llamaBlock(l: number, lw: LayerWeights, x: Float64Array, n: number, pos0: number): Float64Array {
    const { hiddenSize: H, intermediateSize: I, nHeads, nKvHeads, headDim, rmsNormEps: eps } = this.cfg;
    const qDim = nHeads * headDim;
    const kvDim = nKvHeads * headDim;
    const a = rmsnorm(x, lw.inputNorm, n, H, eps); // (n, hidden)
    const q = rope(linear(lw.q, a, qDim, H, n, lw.qBias), n, nHeads, headDim, pos0, this.invFreq); // (n, qDim)
    const k = rope(linear(lw.k, a, kvDim, H, n, lw.kBias), n, nKvHeads, headDim, pos0, this.invFreq); // (n, kvDim)
    const v = linear(lw.v, a, kvDim, H, n, lw.vBias); // (n, kvDim)
    this.kCache[l]!.set(k, pos0 * kvDim);
    this.vCache[l]!.set(v, pos0 * kvDim);
    const att = attention(q, this.kCache[l]!, this.vCache[l]!, n, pos0, nHeads, nKvHeads, headDim); // (n, qDim)
    const h = linear(lw.o, att, H, qDim, n, null, x); // (n, hidden) = x + o(att)
    const m = rmsnorm(h, lw.postNorm, n, H, eps); // (n, hidden)
    const g = swiglu(linear(lw.gate, m, I, H, n), linear(lw.up, m, I, H, n)); // (n, inter)
    return linear(lw.down, g, H, I, n, null, h); // (n, hidden) = h + down(g)
  }
}

/** Greedy decoding on the reference: prefill the prompt in one pass, then one token at a time. Returns the nNew new ids. */
export function refGreedy(cfg: ModelConfig, w: HostWeights, promptIds: number[], nNew: number): number[] {
  if (promptIds.length === 0) throw new Error('refGreedy: empty prompt');
  const m = new RefModel(cfg, w, Math.min(cfg.maxSeq, promptIds.length + nNew));
  const V = cfg.vocabSize;
  const out: number[] = [];
  let logits = m.forward(promptIds, 0);
  let last = logits.subarray((promptIds.length - 1) * V, promptIds.length * V);
  for (let i = 0; i < nNew; i++) {
    const id = argmax(last);
    out.push(id);
    if (i === nNew - 1) break;
    logits = m.forward([id], promptIds.length + i);
    last = logits;
  }
  return out;
}
