// Float64 CPU reference of the whole forward pass: the spec the GPU forward (src/model/transformer.ts) is tested
// against. It only composes the per-kernel references (embed, addPositions, rmsnorm/layernorm, linear, rope, attention,
// swiglu/gelu, argmax); it implements no math of its own. One block for every architecture, described by the
// config's norm / positions / mlp / biases (null biases add nothing):
//   x = embed(ids)   (+ posEmbed[pos0 .. pos0+n−1] when positions are learned: GPT-2's wpe)
//   per layer:  a = norm(x)·inputNorm (+ inputNormBias);  q, k, v = q(a)+bq, k(a)+bk, v(a)+bv
//               q, k = rope(q), rope(k)                   (positions rope only)
//               K[pos], V[pos] = k, v   (cache append)
//               x = x + o(attention(q, K, V)) + bo        causal over positions 0..pos, GQA, scale 1/sqrt(headDim)
//               m = norm(x)·postNorm (+ postNormBias)
//               x = x + down(silu(gate(m)) · up(m))       (mlp swiglu: Llama, Qwen2)
//               x = x + down(gelu(up(m) + bu)) + bd       (mlp gelu: GPT-2, tanh approximation)
//   logits = lm_head(norm(x)·finalNorm (+ finalNormBias))
// norm is rmsnorm (Llama, Qwen2) or layernorm (GPT-2), per cfg.norm with eps cfg.normEps. The helpers below are
// exported so other CPU references (early exit's) run exactly this block.

import type { ModelConfig } from '../model/config';
import type { HostWeights, LayerWeights } from '../model/weights';
import { gelu, swiglu } from './activation';
import { attention } from './attention';
import { embed } from './embedding';
import { linear, type Vec } from './linear';
import { layernorm, rmsnorm } from './norm';
import { addPositions } from './posembed';
import { rope, ropeInvFreq } from './rope';
import { argmax } from './sample';

/** The model's norm over n rows of x (n, hidden): rmsnorm·w, or layernorm·w + b. */
export function refNorm(cfg: ModelConfig, x: Vec, w: Vec, b: Vec | null, n: number): Float64Array {
  if (cfg.norm === 'rmsnorm') return rmsnorm(x, w, n, cfg.hiddenSize, cfg.normEps);
  if (!b) throw new Error('refNorm: layernorm needs a bias');
  return layernorm(x, w, b, n, cfg.hiddenSize, cfg.normEps);
}

/** Rotary inverse frequencies (headDim/2) when positions are rope, else null. */
export function refInvFreq(cfg: ModelConfig): Float64Array | null {
  return cfg.positions === 'rope' ? ropeInvFreq(cfg.headDim, cfg.ropeTheta, cfg.headDim, cfg.ropeScaling) : null;
}

/** Token embeddings of ids at positions pos0.. (n, hidden), plus the learned position rows when the model has them. */
export function refEmbed(cfg: ModelConfig, w: HostWeights, ids: number[], pos0: number): Float64Array {
  const x = embed(w.embed, ids, cfg.hiddenSize);
  if (cfg.positions !== 'learned') return x;
  if (!w.posEmbed) throw new Error('refEmbed: learned positions need posEmbed');
  return addPositions(x, w.posEmbed, ids.length, cfg.hiddenSize, pos0);
}

/** Per-layer K/V caches: (maxSeq, nKvHeads*headDim) each. */
export interface RefKv {
  k: Float64Array;
  v: Float64Array;
}

/** Layer K/V rows pos0.. from the normalised input a (n, hidden): project (+ bias), rotate k, write into the cache. */
export function refWriteKv(cfg: ModelConfig, lw: LayerWeights, a: Vec, n: number, pos0: number, invFreq: Float64Array | null, kv: RefKv): void {
  const { hiddenSize: H, nKvHeads, headDim } = cfg;
  const kvDim = nKvHeads * headDim;
  const k = linear(lw.k, a, kvDim, H, n, lw.kBias); // (n, kvDim)
  kv.k.set(invFreq ? rope(k, n, nKvHeads, headDim, pos0, invFreq) : k, pos0 * kvDim);
  kv.v.set(linear(lw.v, a, kvDim, H, n, lw.vBias), pos0 * kvDim);
}

/** One transformer block on x (n, hidden) at positions pos0.. (K/V appended to kv); returns the new x. */
export function refBlock(cfg: ModelConfig, lw: LayerWeights, x: Float64Array, n: number, pos0: number, invFreq: Float64Array | null, kv: RefKv): Float64Array {
  const { hiddenSize: H, intermediateSize: I, nHeads, nKvHeads, headDim } = cfg;
  const qDim = nHeads * headDim;
  const a = refNorm(cfg, x, lw.inputNorm, lw.inputNormBias, n); // (n, hidden)
  const q0 = linear(lw.q, a, qDim, H, n, lw.qBias); // (n, qDim)
  const q = invFreq ? rope(q0, n, nHeads, headDim, pos0, invFreq) : q0;
  refWriteKv(cfg, lw, a, n, pos0, invFreq, kv);
  const att = attention(q, kv.k, kv.v, n, pos0, nHeads, nKvHeads, headDim); // (n, qDim)
  const h = linear(lw.o, att, H, qDim, n, lw.oBias, x); // (n, hidden) = x + o(att) + bo
  const m = refNorm(cfg, h, lw.postNorm, lw.postNormBias, n); // (n, hidden)
  let g: Float64Array; // (n, inter)
  if (cfg.mlp === 'swiglu') {
    if (!lw.gate) throw new Error('refBlock: a swiglu MLP needs gate weights');
    g = swiglu(linear(lw.gate, m, I, H, n), linear(lw.up, m, I, H, n, lw.upBias));
  } else {
    g = gelu(linear(lw.up, m, I, H, n, lw.upBias));
  }
  return linear(lw.down, g, H, I, n, lw.downBias, h); // (n, hidden) = h + down(g) + bd
}

/** Logits (n, vocab) of x (n, hidden): the final norm + lm_head. */
export function refHead(cfg: ModelConfig, w: HostWeights, x: Vec, n: number): Float64Array {
  return linear(w.lmHead, refNorm(cfg, x, w.finalNorm, w.finalNormBias, n), cfg.vocabSize, cfg.hiddenSize, n);
}

export interface RefForwardOptions {
  /** Run only the first `exitLayer` blocks, then the final norm + lm_head (early exit). Default: all. */
  exitLayer?: number;
}

export class RefModel {
  readonly maxSeq: number;
  /** Positions currently held in the KV cache. */
  length = 0;
  private readonly invFreq: Float64Array | null; // (headDim/2), rope only
  private readonly kv: RefKv[]; // per layer

  constructor(
    readonly cfg: ModelConfig,
    readonly w: HostWeights,
    maxSeq = cfg.maxSeq,
  ) {
    if (w.layers.length !== cfg.nLayers) throw new Error(`RefModel: ${w.layers.length} layers of weights for nLayers ${cfg.nLayers}`);
    this.maxSeq = maxSeq;
    if (cfg.positions === 'learned' && maxSeq > cfg.maxSeq) throw new Error(`RefModel: maxSeq ${maxSeq} exceeds the ${cfg.maxSeq} learned positions`);
    this.invFreq = refInvFreq(cfg);
    const kvDim = cfg.nKvHeads * cfg.headDim;
    this.kv = w.layers.map(() => ({ k: new Float64Array(maxSeq * kvDim), v: new Float64Array(maxSeq * kvDim) }));
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

    let x = refEmbed(cfg, w, ids, pos0); // (n, hidden)
    for (let l = 0; l < exitLayer; l++) x = refBlock(cfg, w.layers[l]!, x, n, pos0, this.invFreq, this.kv[l]!);
    this.length = pos0 + n;
    return refHead(cfg, w, x, n); // (n, vocab)
  }

  /** Forget every cached position. */
  reset(): void {
    this.length = 0;
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
