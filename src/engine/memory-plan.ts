// Memory plan: the GPU bytes a model needs, computed from its ModelConfig BEFORE anything is allocated, and the
// check against a budget (WebGPU reports no total memory). Every figure mirrors what src/model/transformer.ts
// (GpuModel) and src/engine/generate.ts allocate, tensor by tensor (4-byte elements, so no rounding):
//   weights    embedding  vocab·H at the table's precision (embedSpec, mirroring src/techniques/quant-formats.ts
//                         embeddingSpec: f32, f16 or q8) (+ learned positions cfg.maxSeq·H f32)
//              layers     per layer: norms 2·H (+ 2·H biases for layernorm); q, k, v, o, [gate,] up, down at
//                         the body precision; q/k/v biases (attentionBias), o/up/down biases (linearBias);
//                         rope inv_freq headDim/2 once (rope only)
//              head       final norm H (+ bias); lm_head at the head precision — 0 when tied and the table has the
//                         head's spec (it shares the embedding: counted once), a packed copy otherwise (tied int4 head)
//                         A shared packed head over a split table adds its decode scratch (first chunk's rows).
//   linear bytes: f32 rows·cols·4 | f16 rows·⌈cols/2⌉·4 | q8 rows·(⌈cols/4⌉ + ng)·4 | q4 rows·(⌈cols/8⌉ + ng)·4 |
//                 q4z rows·(⌈cols/8⌉ + 2·ng)·4, ng = ⌈cols/groupSize⌉ (src/techniques/quantize.ts); + bias rows·4
//   kv         2 · layers · ctx · kvDim · 4
//   activations GpuModel.actsFor(n) = 4·(2nH + 2n·qDim + 2n·kvDim + (swiglu ? 3 : 1)·n·I + H): the decode set
//              (n = 1, kept after load), the prefill set (n = prompt tokens) and the generation loop's buffers
//              (logits vocab, prompt ids, 2 id slots); + scratch outputs of row-split layers whose format does
//              not place rows (src/model/linear.ts): chunkRows per split layer (decode), n·chunkRows (prefill)
//   split      a weight tensor over the binding limit is cut into row chunks (chunkRows): listed with its chunks.
//              KV caches and activations are never split: one over the limit is listed in `overLimit`.
// Default plan for the head (src/techniques/quant-formats.ts defaultPlan): int4/int4z bodies keep a q8 g32 head;
// an explicit lmHead precision is packed with group 32 (src/engine/techniques.ts).
// Budget: the user's setting, else half of navigator.deviceMemory (laptop GPUs share system RAM with the OS and the
// browser; Chrome reports at most 8 GiB), else 2 GiB. The load refuses before any allocation when the estimate does
// not fit, naming the numbers and the highest precision / a shorter context that would.

import type { ModelConfig } from '../model/config';
import { chunkRows } from '../model/linear';
import type { Precision } from '../techniques/quantize';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

export interface QuantChoice {
  precision: Precision;
  groupSize: number;
  /** The head's precision; null = the default plan (see the header). */
  lmHead: Precision | null;
}

export interface PlanRequest {
  quant: QuantChoice;
  /** KV positions allocated (the engine's maxSeq). */
  ctx: number;
  /** Tokens of the prefill set counted (default: ctx − 1, the longest prompt). */
  promptTokens?: number;
  /** Per-tensor byte limit (gpu.maxBindingBytes); default: none. */
  bindingLimit?: number;
}

export interface SplitTensor {
  name: string;
  bytes: number;
  chunks: number;
}

export interface MemoryEstimate {
  quant: QuantChoice;
  ctx: number;
  promptTokens: number;
  weights: { embedding: number; layers: number; head: number; total: number };
  kv: number;
  activations: { decode: number; prefill: number; loop: number; total: number };
  total: number;
  bindingLimit: number;
  /** The largest weight tensor before splitting. */
  largest: { name: string; bytes: number };
  /** Weight tensors cut into row chunks. */
  split: SplitTensor[];
  /** Tensors that cannot be split and exceed the limit (KV cache, activations): the load would fail. */
  overLimit: { name: string; bytes: number }[];
  /** A precision the plan does not model exactly ('file') was counted as f32 (an upper bound). */
  approximate: boolean;
}

export interface MemoryBudget {
  bytes: number;
  /** 'user' (set in the memory panel) or how the default was found. */
  source: 'user' | 'deviceMemory' | 'default';
  note: string;
}

export interface MemoryVerdict {
  estimate: MemoryEstimate;
  budget: MemoryBudget;
  fits: boolean;
  /** Totals of the other precisions (for the suggestion), highest first. */
  alternatives: { precision: Precision; total: number; fits: boolean }[];
  /** The longest context (≤ ctx) that fits at the requested precision, or 0. */
  maxCtx: number;
}

/** A model that would not fit the memory budget: refused before any allocation. */
export class MemoryBudgetError extends Error {
  override name = 'MemoryBudgetError';
  constructor(
    readonly verdict: MemoryVerdict,
    note = '',
  ) {
    super(describeRefusal(verdict) + (note ? `; ${note}` : ''));
  }
}

const mib = (b: number) => `${(b / MiB).toFixed(1)} MiB`;

/** Precisions the plan models exactly; 'file' (each layer as its file stores it) is counted as f32, an upper bound. */
export const PLANNED_PRECISIONS: readonly Precision[] = ['f32', 'f16', 'int8', 'int4', 'int4z'];

/** Row-major parts (u32/f32 words per row) of a linear stored at `p`. */
function partsPerRow(cols: number, p: Precision, groupSize: number): number[] {
  const ng = Math.ceil(cols / groupSize);
  switch (p) {
    case 'f32': return [cols];
    case 'f16': return [Math.ceil(cols / 2)];
    case 'int8': return [Math.ceil(cols / 4), ng];
    case 'int4': return [Math.ceil(cols / 8), ng];
    case 'int4z': return [Math.ceil(cols / 8), ng, ng];
    case 'file': return [cols]; // as the file stores it (GGUF q8/q4 or f32): f32 is the upper bound
  }
}

/**
 * The embedding table's precision and group size under `q`: a tied head at f32 / f16 / int8 shares the table, so
 * the table takes the head's spec; otherwise the body's: f16 → f16, int8 / int4 / int4z → int8 g32, else f32.
 */
export function embedSpec(q: QuantChoice, tied: boolean): { precision: Precision; groupSize: number } {
  const hs = headSpec(q);
  if (tied && (hs.precision === 'f32' || hs.precision === 'f16' || hs.precision === 'int8')) return hs;
  if (q.precision === 'f16') return { precision: 'f16', groupSize: 0 };
  if (q.precision === 'int8' || q.precision === 'int4' || q.precision === 'int4z') return { precision: 'int8', groupSize: 32 };
  return { precision: 'f32', groupSize: 0 };
}

/** The head's precision and group size under `q` (see the header). */
export function headSpec(q: QuantChoice): { precision: Precision; groupSize: number } {
  if (q.lmHead) return { precision: q.lmHead, groupSize: 32 };
  if (q.precision === 'int4' || q.precision === 'int4z') return { precision: 'int8', groupSize: 32 };
  return { precision: q.precision, groupSize: q.groupSize };
}

export function estimateMemory(cfg: ModelConfig, req: PlanRequest): MemoryEstimate {
  const { hiddenSize: H, intermediateSize: I, nLayers, nHeads, headDim, vocabSize: V } = cfg;
  const qDim = nHeads * headDim;
  const kvDim = cfg.nKvHeads * headDim;
  const limit = req.bindingLimit ?? Infinity;
  const ctx = req.ctx;
  const P = Math.max(1, req.promptTokens ?? ctx - 1);
  const split: SplitTensor[] = [];
  const overLimit: { name: string; bytes: number }[] = [];
  let largest = { name: '', bytes: 0 };
  let scratch1 = 0; // decode scratch of split layers that do not place rows
  let scratchP = 0; // prefill scratch (block layers run with n = P; the head runs on the last row only)
  const weight = (name: string, rows: number, perRow: number) => {
    const bytes = rows * perRow * 4;
    if (bytes > largest.bytes) largest = { name, bytes };
    return bytes;
  };
  /** Bytes of one linear; records its split (and scratch) when over the limit. */
  const linear = (name: string, rows: number, cols: number, bias: boolean, p: Precision, g: number, isHead = false): number => {
    const parts = partsPerRow(cols, p, g);
    let b = bias ? rows * 4 : 0;
    for (const w of parts) b += weight(name, rows, w);
    const sizes = chunksOf(name, rows, Math.max(...parts) * 4);
    if (sizes.length > 1) {
      split.push({ name, bytes: b, chunks: sizes.length });
      if (p !== 'f32' && PLANNED_PRECISIONS.includes(p)) {
        scratch1 += sizes[0]! * 4;
        if (!isHead) scratchP += P * sizes[0]! * 4;
      }
    }
    return b;
  };
  /** Row chunks of a weight (1 = unsplit); a single row over the limit goes to overLimit. */
  const chunksOf = (name: string, rows: number, bytesPerRow: number): number[] => {
    if (bytesPerRow > limit) {
      overLimit.push({ name: `one row of ${name}`, bytes: bytesPerRow });
      return [rows];
    }
    return chunkRows(rows, bytesPerRow, limit, name);
  };
  const noSplit = (name: string, bytes: number) => {
    if (bytes > limit) overLimit.push({ name, bytes });
    return bytes;
  };

  // embedding (+ learned positions)
  const es = embedSpec(req.quant, cfg.tieWordEmbeddings);
  const embParts = partsPerRow(H, es.precision, es.groupSize);
  let embedding = 0;
  for (const w of embParts) embedding += weight('model.embed_tokens.weight', V, w);
  const embSizes = chunksOf('model.embed_tokens.weight', V, Math.max(...embParts) * 4);
  if (embSizes.length > 1) split.push({ name: 'model.embed_tokens.weight', bytes: embedding, chunks: embSizes.length });
  if (cfg.positions === 'learned') embedding += noSplit('model.pos_embed.weight', weight('model.pos_embed.weight', cfg.maxSeq, H));

  // layers
  const { precision: bp, groupSize: bg } = req.quant;
  const normBytes = (cfg.norm === 'layernorm' ? 2 : 1) * H * 4;
  let layers = cfg.positions === 'rope' ? (headDim / 2) * 4 : 0;
  for (let l = 0; l < nLayers; l++) {
    const p = `model.layers.${l}`;
    layers += 2 * normBytes;
    layers += linear(`${p}.self_attn.q_proj.weight`, qDim, H, cfg.attentionBias, bp, bg);
    layers += linear(`${p}.self_attn.k_proj.weight`, kvDim, H, cfg.attentionBias, bp, bg);
    layers += linear(`${p}.self_attn.v_proj.weight`, kvDim, H, cfg.attentionBias, bp, bg);
    layers += linear(`${p}.self_attn.o_proj.weight`, H, qDim, cfg.linearBias, bp, bg);
    if (cfg.mlp === 'swiglu') layers += linear(`${p}.mlp.gate_proj.weight`, I, H, false, bp, bg);
    layers += linear(`${p}.mlp.up_proj.weight`, I, H, cfg.linearBias, bp, bg);
    layers += linear(`${p}.mlp.down_proj.weight`, H, I, cfg.linearBias, bp, bg);
  }

  // head
  const hs = headSpec(req.quant);
  let head = normBytes;
  const shared = cfg.tieWordEmbeddings && hs.precision === es.precision && (hs.precision !== 'int8' || hs.groupSize === es.groupSize);
  if (!shared) {
    head += linear(cfg.tieWordEmbeddings ? 'lm_head (tied)' : 'lm_head.weight', V, H, false, hs.precision, hs.groupSize, true);
  } else if (embSizes.length > 1 && es.precision !== 'f32') scratch1 += embSizes[0]! * 4; // the view's decode scratch

  const kvTensor = noSplit('k_cache / v_cache (one layer)', ctx * kvDim * 4);
  const kv = 2 * nLayers * kvTensor;
  const acts = (n: number) => 4 * (2 * n * H + 2 * n * qDim + 2 * n * kvDim + (cfg.mlp === 'swiglu' ? 3 : 1) * n * I + H);
  noSplit(`activation (n=${P}, intermediate)`, P * Math.max(I, qDim, H) * 4);
  const decode = acts(1) + scratch1;
  const prefill = acts(P) + scratchP;
  const loop = noSplit('logits', V * 4) + P * 4 + 2 * 4;
  const weights = { embedding, layers, head, total: embedding + layers + head };
  const activations = { decode, prefill, loop, total: decode + prefill + loop };
  return {
    quant: req.quant,
    ctx,
    promptTokens: P,
    weights,
    kv,
    activations,
    total: weights.total + kv + activations.total,
    bindingLimit: limit,
    largest,
    split,
    overLimit,
    approximate: !PLANNED_PRECISIONS.includes(bp) || !PLANNED_PRECISIONS.includes(hs.precision),
  };
}

/** The default budget (see the header). `deviceMemoryGiB`: navigator.deviceMemory when the browser reports it. */
export function defaultBudget(deviceMemoryGiB: number | undefined): MemoryBudget {
  if (deviceMemoryGiB && deviceMemoryGiB > 0) {
    return { bytes: (deviceMemoryGiB / 2) * GiB, source: 'deviceMemory', note: `half of navigator.deviceMemory (${deviceMemoryGiB} GiB)` };
  }
  return { bytes: 2 * GiB, source: 'default', note: 'navigator.deviceMemory unknown: 2 GiB' };
}

const ORDER: Precision[] = ['f32', 'f16', 'int8', 'int4'];

/** Compare an estimate request with the budget: fits, other precisions' totals, the longest context that fits. */
export function checkBudget(cfg: ModelConfig, req: PlanRequest, budget: MemoryBudget, precisions: readonly Precision[] = ORDER): MemoryVerdict {
  const estimate = estimateMemory(cfg, req);
  const alternatives = precisions.map((precision) => {
    const total = estimateMemory(cfg, { ...req, quant: { ...req.quant, precision, lmHead: null } }).total;
    return { precision, total, fits: total <= budget.bytes };
  });
  let lo = 0;
  let hi = req.ctx;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    const t = estimateMemory(cfg, { ...req, ctx: mid, promptTokens: Math.min(estimate.promptTokens, Math.max(1, mid - 1)) }).total;
    if (t <= budget.bytes) lo = mid;
    else hi = mid - 1;
  }
  const fits = estimate.total <= budget.bytes && estimate.overLimit.length === 0;
  return { estimate, budget, fits, alternatives, maxCtx: lo };
}

/** The refusal message: what is needed by part, the budget, and what would fit. */
export function describeRefusal(v: MemoryVerdict): string {
  const e = v.estimate;
  const parts = [
    `needs ${mib(e.total)} of GPU memory at ${e.quant.precision} with a ${e.ctx}-token context: weights ${mib(e.weights.total)}, ` +
      `KV cache ${mib(e.kv)}, activations ${mib(e.activations.total)}; the memory budget is ${mib(v.budget.bytes)} (${v.budget.note})`,
  ];
  if (e.overLimit.length) {
    parts.push(`${e.overLimit.map((t) => `${t.name} (${mib(t.bytes)})`).join(', ')} exceed the adapter's per-buffer limit ${mib(e.bindingLimit)} and cannot be split`);
  }
  const fit = v.alternatives.find((a) => a.fits && a.precision !== e.quant.precision);
  const alts = v.alternatives.map((a) => `${a.precision} ${mib(a.total)}`).join(', ');
  if (fit) parts.push(`${fit.precision} would fit (${alts})`);
  else parts.push(`no precision fits at this context (${alts})`);
  if (v.maxCtx > 0 && v.maxCtx < e.ctx) parts.push(`a context of ${v.maxCtx} tokens would fit at ${e.quant.precision}`);
  parts.push('raise the budget in the memory panel if this adapter has more memory');
  return parts.join('; ');
}

/** The device ran out of memory during the upload although the estimate fit the budget (the budget was too high). */
export class GpuOutOfMemoryError extends Error {
  override name = 'GpuOutOfMemoryError';
  constructor(
    detail: string,
    readonly estimate: MemoryEstimate,
  ) {
    super(
      `out of GPU memory while uploading (${detail}); the plan needed ${mib(estimate.total)} (weights ${mib(estimate.weights.total)}, ` +
        `KV cache ${mib(estimate.kv)}, activations ${mib(estimate.activations.total)}): lower the memory budget, the context or the precision`,
    );
  }
}
