// transformer.ts — the forward pass, top to bottom, one named kernel call per step (llama2.c's forward()).
// Llama / Qwen2 block:  h = x + Wo·attn(rope(Wq·n1), rope(Wk·n1), Wv·n1)   where n1 = rmsnorm(x)
//                       x' = h + Wdown·(silu(Wgate·n2) ⊙ Wup·n2)             where n2 = rmsnorm(h)
// GPT-2 block:          x = wte[ids] + wpe[pos]  (learned positions, no rope)
//                       h = x + Wo·attn(Wq·n1 + bq, Wk·n1 + bk, Wv·n1 + bv) + bo   where n1 = layernorm(x)
//                       x' = h + Wdown·gelu(Wup·n2 + bu) + bd                        where n2 = layernorm(h)
// The config's norm / positions / mlp fields pick the kernels (src/ref/forward.ts is the spec of both forms).
// logits = lm_head · norm(x_last). The KV cache is written in place (copy of this step's K/V rows).
// Prefill runs the whole prompt in one pass (matmuls); decode runs one token (GEMVs), one encoder per token.

import type { Gpu } from '../gpu/device';
import type { Recorder } from '../gpu/recorder';
import type { GpuTensor } from '../gpu/tensor';
import { attention } from '../kernels/attention';
import { gelu, swiglu } from '../kernels/elementwise';
import { layernorm, rmsnorm } from '../kernels/norm';
import { posEmbed } from '../kernels/posembed';
import { rope } from '../kernels/rope';
import { ropeInvFreq } from '../ref/rope';
import type { ModelConfig } from './config';
import { embedLookup, type EmbeddingSpec, type EmbeddingTable, sharesTable, tiedHead, uploadEmbedding } from './embedding-table';
import { applyLinear, type LinearWeight, linearBytes, releaseLinear, uploadLinear } from './linear';
import type { HostWeights } from './weights';

/** A block's linears in forward order (q, k, v, o, [gate,] up, down): gate only for a swiglu MLP. */
export function layerLinears(L: GpuLayer): LinearWeight[] {
  return L.gate ? [L.q, L.k, L.v, L.o, L.gate, L.up, L.down] : [L.q, L.k, L.v, L.o, L.up, L.down];
}

export interface GpuLayer {
  inputNorm: GpuTensor; // (hidden)
  inputNormBias: GpuTensor | null; // (hidden): layernorm only
  q: LinearWeight; // (nHeads*headDim, hidden)
  k: LinearWeight; // (nKv*headDim, hidden)
  v: LinearWeight; // (nKv*headDim, hidden)
  o: LinearWeight; // (hidden, nHeads*headDim)
  postNorm: GpuTensor; // (hidden)
  postNormBias: GpuTensor | null; // (hidden): layernorm only
  gate: LinearWeight | null; // (inter, hidden): swiglu only
  up: LinearWeight; // (inter, hidden)
  down: LinearWeight; // (hidden, inter)
  kCache: GpuTensor; // (maxSeq, nKv*headDim)
  vCache: GpuTensor; // (maxSeq, nKv*headDim)
}

/** Activation buffers for a pass over n tokens. */
interface Acts {
  n: number;
  x: GpuTensor; // (n, hidden) residual stream
  xn: GpuTensor; // (n, hidden) normalised
  q: GpuTensor; // (n, nHeads*headDim)
  k: GpuTensor; // (n, kvDim)
  v: GpuTensor; // (n, kvDim)
  att: GpuTensor; // (n, nHeads*headDim)
  gate: GpuTensor | null; // (n, inter): swiglu only
  up: GpuTensor | null; // (n, inter): swiglu only
  h: GpuTensor; // (n, inter) silu(gate) ⊙ up, or gelu(up·n2 + bu) in place
  last: GpuTensor; // (1, hidden) last row of xn, for the head
}

/** Uploads one linear layer's host weights (name as Hugging Face names it, (rows, cols) row-major, optional bias). */
export type LinearMaker = (name: string, rows: number, cols: number, data: Float32Array, bias: Float32Array | null) => LinearWeight;

export class GpuModel {
  readonly layers: GpuLayer[] = [];
  /** (vocab, hidden) f32 / f16 / q8, row-split when over the binding limit (embedding-table.ts); a precision
   *  switch swaps it through replaceLinears(make, embed). */
  embed: EmbeddingTable;
  /** The f32 host table the embedding is (re-)packed from. */
  readonly embedMaster: Float32Array;
  readonly posEmbed: GpuTensor | null; // (cfg.maxSeq, hidden): learned positions only
  readonly finalNorm: GpuTensor; // (hidden)
  readonly finalNormBias: GpuTensor | null; // (hidden): layernorm only
  lmHead: LinearWeight; // (vocab, hidden); shares the embedding's tensors when tied and in the table's format
  readonly invFreq: GpuTensor | null; // (headDim/2): rope only
  readonly kvDim: number;
  private acts = new Map<number, Acts>();

  /**
   * `makeLinear` uploads each block linear and an untied head (default: dense f32). Loading at a lower precision
   * passes a packer here, so the f32 weights never all sit on the GPU at once; `embedSpec` likewise stores the
   * embedding table packed from the start (a tied head then shares it in that format).
   */
  constructor(
    private readonly gpu: Gpu, readonly cfg: ModelConfig, w: HostWeights, readonly maxSeq: number,
    makeLinear: LinearMaker = (name, rows, cols, data, bias) => uploadLinear(gpu, name, rows, cols, data, bias),
    embedSpec?: EmbeddingSpec,
  ) {
    const { hiddenSize: H, intermediateSize: I, nHeads, nKvHeads, headDim } = cfg;
    const qDim = nHeads * headDim;
    this.kvDim = nKvHeads * headDim;
    const pool = gpu.pool;
    if (cfg.positions === 'learned' && (!w.posEmbed || maxSeq > cfg.maxSeq))
      throw new Error(`GpuModel: learned positions need posEmbed with maxSeq ${maxSeq} <= ${cfg.maxSeq} rows`);
    const opt = (name: string, a: Float32Array | null) => (a ? pool.fromArray(name, [a.length], a, 'weights') : null);
    this.embedMaster = w.embed;
    this.embed = uploadEmbedding(gpu, 'model.embed_tokens.weight', cfg.vocabSize, H, w.embed, embedSpec);
    this.posEmbed = cfg.positions === 'learned' ? pool.fromArray('model.pos_embed.weight', [cfg.maxSeq, H], w.posEmbed!, 'weights') : null;
    this.finalNorm = pool.fromArray('model.norm.weight', [H], w.finalNorm, 'weights');
    this.finalNormBias = opt('model.norm.bias', w.finalNormBias);
    this.lmHead =
      w.lmHead === w.embed
        ? tiedHead(gpu, this.embed)
        : makeLinear('lm_head.weight', cfg.vocabSize, H, w.lmHead, null);
    this.invFreq =
      cfg.positions === 'rope' ? pool.fromArray('rope.inv_freq', [headDim / 2], new Float32Array(ropeInvFreq(headDim, cfg.ropeTheta, headDim, cfg.ropeScaling)), 'weights') : null;
    w.layers.forEach((lw, i) => {
      const p = `model.layers.${i}`;
      this.layers.push({
        inputNorm: pool.fromArray(`${p}.input_layernorm.weight`, [H], lw.inputNorm, 'weights'),
        inputNormBias: opt(`${p}.input_layernorm.bias`, lw.inputNormBias),
        q: makeLinear(`${p}.self_attn.q_proj.weight`, qDim, H, lw.q, lw.qBias),
        k: makeLinear(`${p}.self_attn.k_proj.weight`, this.kvDim, H, lw.k, lw.kBias),
        v: makeLinear(`${p}.self_attn.v_proj.weight`, this.kvDim, H, lw.v, lw.vBias),
        o: makeLinear(`${p}.self_attn.o_proj.weight`, H, qDim, lw.o, lw.oBias),
        postNorm: pool.fromArray(`${p}.post_attention_layernorm.weight`, [H], lw.postNorm, 'weights'),
        postNormBias: opt(`${p}.post_attention_layernorm.bias`, lw.postNormBias),
        gate: lw.gate ? makeLinear(`${p}.mlp.gate_proj.weight`, I, H, lw.gate, null) : null,
        up: makeLinear(`${p}.mlp.up_proj.weight`, I, H, lw.up, lw.upBias),
        down: makeLinear(`${p}.mlp.down_proj.weight`, H, I, lw.down, lw.downBias),
        kCache: pool.alloc(`${p}.k_cache`, [maxSeq, this.kvDim], 'f32', 'kv'),
        vCache: pool.alloc(`${p}.v_cache`, [maxSeq, this.kvDim], 'f32', 'kv'),
      });
    });
  }

  /**
   * Swap every linear layer for `make(old)` (a technique re-packing from the host master copy), and, with
   * `embed`, the embedding table too (set before `make` runs, so a tied head can be made over the new table with
   * tiedHead(gpu, model.embed)). The old tensors are released after the new ones exist, so GPU bytes return to
   * the same figure for the same plan. A head left sharing a replaced table is an error (checked before release).
   */
  replaceLinears(make: (old: LinearWeight) => LinearWeight, embed?: EmbeddingTable): void {
    const old = this.embed;
    const swapTable = embed !== undefined && embed !== old;
    const keep = swapTable ? [...old.tensors, ...embed.tensors] : old.tensors;
    if (swapTable) this.embed = embed;
    const swap = (l: LinearWeight): LinearWeight => {
      const next = make(l);
      if (next !== l) releaseLinear(this.gpu, l, keep);
      return next;
    };
    for (const L of this.layers) {
      L.q = swap(L.q); L.k = swap(L.k); L.v = swap(L.v); L.o = swap(L.o);
      L.gate = L.gate && swap(L.gate); L.up = swap(L.up); L.down = swap(L.down);
    }
    this.lmHead = swap(this.lmHead);
    if (swapTable) {
      if (Object.values(this.lmHead.tensors).some((t) => old.tensors.includes(t))) {
        throw new Error(`replaceLinears: '${this.lmHead.name}' still reads the replaced embedding table`);
      }
      for (const t of old.tensors) this.gpu.pool.release(t);
    }
    this.gpu.clearCaches();
  }

  /** The lm_head is a tied view over the current embedding table. */
  headSharesEmbedding(): boolean {
    return sharesTable(this.lmHead, this.embed);
  }

  /** Every linear layer, in forward order (for techniques and the roofline's byte count). */
  linears(): LinearWeight[] {
    const out: LinearWeight[] = [];
    for (const l of this.layers) out.push(...layerLinears(l));
    out.push(this.lmHead);
    return out;
  }

  /** Bytes one decode step reads at position `pos` (weights in their stored format + KV cache + embedding row). */
  bytesPerToken(pos: number): number {
    const { hiddenSize: H } = this.cfg;
    let b = this.linears().reduce((s, l) => s + linearBytes(l), 0);
    const norms = this.cfg.norm === 'layernorm' ? 2 : 1; // weight (+ bias)
    b += this.layers.length * (2 * norms * H * 4 + 2 * (pos + 1) * this.kvDim * 4); // norms + K/V rows read by attention
    const row = this.embed.tensors.reduce((s, t) => s + t.bytes, 0) / this.embed.vocab; // one row, its stored format
    return b + row + H * 4 * (norms + (this.posEmbed ? 1 : 0)); // embedding row + final norm (+ position row)
  }

  private actsFor(n: number): Acts {
    let a = this.acts.get(n);
    if (a) return a;
    const { hiddenSize: H, intermediateSize: I, nHeads, headDim } = this.cfg;
    const al = (name: string, shape: number[]) => this.gpu.pool.alloc(`${name}[n=${n}]`, shape, 'f32', 'activations');
    const swi = this.cfg.mlp === 'swiglu';
    a = {
      n,
      x: al('x', [n, H]),
      xn: al('xn', [n, H]),
      q: al('q', [n, nHeads * headDim]),
      k: al('k', [n, this.kvDim]),
      v: al('v', [n, this.kvDim]),
      att: al('att', [n, nHeads * headDim]),
      gate: swi ? al('gate', [n, I]) : null,
      up: swi ? al('up', [n, I]) : null,
      h: al('h', [n, I]),
      last: al('last', [1, H]),
    };
    this.acts.set(n, a);
    return a;
  }

  /** Free activation buffers of multi-token passes (kept: the decode set). */
  releasePrefillActs(): void {
    for (const [n, a] of this.acts) {
      if (n === 1) continue;
      for (const t of Object.values(a)) if (typeof t !== 'number' && t) this.gpu.pool.release(t);
      this.acts.delete(n);
    }
    for (const l of this.linears()) l.scratch?.releaseBatch(); // split layers' multi-token scratch outputs
  }

  /**
   * Encode the forward pass of `n` tokens (ids: (n) u32 on the GPU) at positions pos0..pos0+n-1.
   * Writes the last token's logits (vocab) into `logits`, or all n rows when `allLogits` (logits: (n, vocab)).
   * `layers` runs only the first blocks (early exit, self-speculative drafting); the shared final norm and
   * head follow. The steps are public so techniques compose them without forking the pass.
   */
  forward(rec: Recorder, ids: GpuTensor, n: number, pos0: number, logits: GpuTensor, allLogits = false, layers = this.layers.length): void {
    if (pos0 + n > this.maxSeq) throw new Error(`context overflow: positions up to ${pos0 + n} > maxSeq ${this.maxSeq}`);
    this.embedStep(rec, ids, n, pos0);
    for (let l = 0; l < layers; l++) this.block(rec, l, n, pos0);
    this.head(rec, n, logits, allLogits);
  }

  /** x = embed[ids] for tokens at positions pos0.. (+ posEmbed[pos0 ..] when positions are learned). */
  embedStep(rec: Recorder, ids: GpuTensor, n: number, pos0: number): void {
    const { hiddenSize: H } = this.cfg;
    embedLookup(rec, this.embed, ids, this.actsFor(n).x, n);
    if (this.posEmbed) rec.run(posEmbed, { n, dim: H }, { table: this.posEmbed, x: this.actsFor(n).x }, { n, dim: H, rows: this.cfg.maxSeq, pos0 });
  }

  /** y = norm(x)·w (+ b) over n rows: the model's norm kind (rmsnorm, or layernorm with its bias). */
  private norm(rec: Recorder, x: GpuTensor, w: GpuTensor, b: GpuTensor | null, y: GpuTensor, n: number): void {
    const { hiddenSize: H, normEps: eps } = this.cfg;
    if (this.cfg.norm === 'rmsnorm') rec.run(rmsnorm, { n, dim: H }, { x, w, y }, { n, dim: H, eps });
    else rec.run(layernorm, { n, dim: H }, { x, w, b: b!, y }, { n, dim: H, eps });
  }

  /** One transformer block on the residual stream of n tokens at positions pos0.. (KV written in place). */
  block(rec: Recorder, l: number, n: number, pos0: number): void {
    const { headDim } = this.cfg;
    const a = this.actsFor(n);
    const L = this.layers[l]!;
    // per-layer dims: structured pruning may remove heads (whole KV groups) and FFN neurons
    const lHeads = L.q.rows / headDim;
    const lKv = L.k.rows / headDim;
    const inter = L.up.rows;
    // attention
    this.norm(rec, a.x, L.inputNorm, L.inputNormBias, a.xn, n);
    applyLinear(rec, L.q, a.xn, a.q, n);
    if (this.invFreq) rec.run(rope, { n, nHeads: lHeads, headDim }, { invFreq: this.invFreq, x: a.q }, { n, nHeads: lHeads, headDim, rotaryDim: headDim, pos0 });
    this.writeKv(rec, l, n, pos0, a.xn);
    rec.run(
      attention,
      { n, nHeads: lHeads, nKvHeads: lKv, headDim, kvLen: pos0 + n },
      { q: a.q, k: L.kCache, v: L.vCache, out: a.att },
      { n, nHeads: lHeads, nKvHeads: lKv, headDim, pos0, scale: 1 / Math.sqrt(headDim) },
    );
    applyLinear(rec, L.o, a.att, a.x, n, true); // x += Wo·att (+ bo)
    // feed-forward
    this.norm(rec, a.x, L.postNorm, L.postNormBias, a.xn, n);
    if (L.gate) {
      applyLinear(rec, L.gate, a.xn, a.gate!, n);
      applyLinear(rec, L.up, a.xn, a.up!, n);
      rec.run(swiglu, { n: n * inter }, { gate: a.gate!, up: a.up!, out: a.h }, { n: n * inter });
    } else {
      applyLinear(rec, L.up, a.xn, a.h, n); // h = Wup·n2 + bu
      rec.run(gelu, { n: n * inter }, { x: a.h }, { n: n * inter }); // in place
    }
    applyLinear(rec, L.down, a.h, a.x, n, true); // x += Wdown·h (+ bd)
  }

  /** K/V of layer l from normalised input xn (n, hidden): project, rotate, write cache rows pos0.. in place. */
  writeKv(rec: Recorder, l: number, n: number, pos0: number, xn: GpuTensor): void {
    const { headDim } = this.cfg;
    const a = this.actsFor(n);
    const L = this.layers[l]!;
    const kvDim = L.k.rows;
    const lKv = kvDim / headDim;
    applyLinear(rec, L.k, xn, a.k, n);
    applyLinear(rec, L.v, xn, a.v, n);
    if (this.invFreq) rec.run(rope, { n, nHeads: lKv, headDim }, { invFreq: this.invFreq, x: a.k }, { n, nHeads: lKv, headDim, rotaryDim: headDim, pos0 });
    rec.copy(a.k, L.kCache, n * kvDim * 4, 0, pos0 * kvDim * 4); // cache rows (maxSeq, kvDim)
    rec.copy(a.v, L.vCache, n * kvDim * 4, 0, pos0 * kvDim * 4);
  }

  /**
   * Early exit's cache repair (CALM-style propagation): layer l's K/V for the current tokens computed from the
   * exit hidden state (the residual stream where the token left), so later tokens attend to valid rows.
   */
  propagateKv(rec: Recorder, l: number, n: number, pos0: number): void {
    const a = this.actsFor(n);
    const L = this.layers[l]!;
    this.norm(rec, a.x, L.inputNorm, L.inputNormBias, a.xn, n);
    this.writeKv(rec, l, n, pos0, a.xn);
  }

  /** logits = lm_head · norm(x): the last row only, or all n rows. */
  head(rec: Recorder, n: number, logits: GpuTensor, allLogits = false): void {
    const { hiddenSize: H } = this.cfg;
    const a = this.actsFor(n);
    if (allLogits) {
      this.norm(rec, a.x, this.finalNorm, this.finalNormBias, a.xn, n);
      applyLinear(rec, this.lmHead, a.xn, logits, n);
    } else {
      rec.copy(a.x, a.last, H * 4, (n - 1) * H * 4, 0);
      this.norm(rec, a.last, this.finalNorm, this.finalNormBias, a.xn, 1);
      applyLinear(rec, this.lmHead, a.xn, logits, 1);
    }
  }

  /** The weight-reading floor: one decode step's matrix-vector products alone (for the bench). */
  encodeLinearsOnly(rec: Recorder, logits: GpuTensor): void {
    const a = this.actsFor(1);
    for (const L of this.layers) {
      for (const l of [L.q, L.k, L.v]) applyLinear(rec, l, a.xn, l === L.q ? a.q : l === L.k ? a.k : a.v, 1);
      applyLinear(rec, L.o, a.att, a.x, 1);
      if (L.gate) applyLinear(rec, L.gate, a.xn, a.gate!, 1);
      applyLinear(rec, L.up, a.xn, a.up ?? a.h, 1);
      applyLinear(rec, L.down, a.h, a.x, 1);
    }
    applyLinear(rec, this.lmHead, a.xn, logits, 1);
  }

  destroy(): void {
    const pool = this.gpu.pool;
    for (const L of this.layers) {
      for (const l of layerLinears(L)) releaseLinear(this.gpu, l);
      for (const t of [L.inputNorm, L.inputNormBias, L.postNorm, L.postNormBias, L.kCache, L.vCache]) pool.release(t ?? undefined);
    }
    releaseLinear(this.gpu, this.lmHead, this.embed.tensors);
    for (const t of [...this.embed.tensors, this.posEmbed, this.finalNorm, this.finalNormBias, this.invFreq]) pool.release(t ?? undefined);
    for (const a of this.acts.values()) for (const t of Object.values(a)) if (typeof t !== 'number' && t) pool.release(t);
    this.acts.clear();
    this.layers.length = 0;
    this.gpu.clearCaches();
  }
}
