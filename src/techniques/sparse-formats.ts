// Pruning meets the forward pass: the '2:4' and 'sparse' LinearWeight formats (registered here), and the plan
// that re-packs a loaded model from its dense masters. The forward pass never knows: it calls applyLinear().
//
//   kind          GPU storage of a targeted projection                       decode / prefill kernel
//   unstructured  'sparse' (SELL-16-σ) when its sparsity ≥ the adapter's      gemv_sparse gemv / matmul
//                 crossover (chooseSparseKernel), else masked dense 'f32'     (dense: gemv / matmul)
//   2:4           '2:4' compressed (values + 2-bit positions)                 gemv_24 gemv / matmul
//   structured    physically smaller dense 'f32' (fewer q/k/v rows, o cols,   gemv / matmul
//                 gate/up rows, down cols); the forward reads per-layer dims
// Prefill (n > 1) runs the formats' own sparse matmul entries: no dense copy is kept on the GPU.
// Embeddings and lm_head are never pruned. Prune first, quantize second: pruneMasters() / applyPruning() return
// the pruned dense masters (shrunk for structured) so a quantizer packs exactly the pruned weights.

import type { Gpu } from '../gpu/device';
import { gemv24, pack24, uniforms24 } from '../kernels/gemv-24';
import { chooseSparseKernel, gemvSparse, packSell, type SparseKernel, sparseCrossover, uniformsSparse } from '../kernels/gemv-sparse';
import type { ModelConfig } from '../model/config';
import { type LinearWeight, linearBytes, registerFormat, uploadLinear } from '../model/linear';
import type { GpuModel } from '../model/transformer';
import { BIAS_KEYS, type LayerLinears, type LinearKey, linearKeys, linearName, linearShape, type PruneReport, type PruneSpec, pruneLayers, type TensorReport } from './prune';

registerFormat({
  name: '2:4',
  apply(rec, l, x, y, n, accumulate) {
    const t = { vals: l.tensors['vals']!, idx: l.tensors['idx']!, x, b: l.bias ?? l.tensors['vals']!, y };
    rec.run(gemv24, { n, rows: l.rows, cols: l.cols, bias: l.bias !== null, accumulate }, t, uniforms24(n, l.rows, l.cols));
  },
});

registerFormat({
  name: 'sparse',
  apply(rec, l, x, y, n, accumulate) {
    const { vals, cix, chunk, perm } = l.tensors;
    const t = { vals: vals!, cix: cix!, chunk: chunk!, perm: perm!, x, b: l.bias ?? vals!, y };
    rec.run(gemvSparse, { n, rows: l.rows, cols: l.cols, bias: l.bias !== null, accumulate }, t, uniformsSparse(n, l.rows, l.cols));
  },
});

const biasOf = (gpu: Gpu, name: string, bias: Float32Array | null) =>
  bias ? gpu.pool.fromArray(name.replace(/weight$/, 'bias'), [bias.length], bias, 'weights') : null;

/** A 2:4-sparse (rows, cols) matrix (≤ 2 nonzeros per group of 4 inputs) as a '2:4' LinearWeight. */
export function upload24(gpu: Gpu, name: string, rows: number, cols: number, W: Float32Array, bias: Float32Array | null): LinearWeight {
  const p = pack24(W, rows, cols);
  const tensors = {
    vals: gpu.pool.fromArray(`${name}.vals`, [rows, p.nw * 16], p.vals, 'weights'), // (rows, cols/2 padded)
    idx: gpu.pool.fromArray(`${name}.idx`, [rows, p.nw], p.idx, 'weights'), // (rows, ceil(cols/32)) u32
  };
  return { name, rows, cols, format: '2:4', tensors, bias: biasOf(gpu, name, bias), meta: { sparsity: 0.5, kernel: '2:4' } };
}

/** The nonzeros of a (rows, cols) matrix as a 'sparse' (SELL-16-σ) LinearWeight. */
export function uploadSparse(gpu: Gpu, name: string, rows: number, cols: number, W: Float32Array, bias: Float32Array | null): LinearWeight {
  const p = packSell(W, rows, cols);
  const tensors = {
    vals: gpu.pool.fromArray(`${name}.vals`, [p.slots + 1, 4], p.vals, 'weights'), // (slots + 1, 4) f32
    cix: gpu.pool.fromArray(`${name}.cix`, [p.slots + 1, 2], p.cix, 'weights'), // (slots + 1, 2) u32: 4 × u16
    chunk: gpu.pool.fromArray(`${name}.chunk`, [p.chunk.length], p.chunk, 'weights'), // (nChunks + 1)
    perm: gpu.pool.fromArray(`${name}.perm`, [rows], p.perm, 'weights'), // (rows)
  };
  const meta = { sparsity: 1 - p.nnz / (rows * cols), kernel: 'sell', padding: p.nnz ? (4 * p.slots) / p.nnz - 1 : 0 };
  return { name, rows, cols, format: 'sparse', tensors, bias: biasOf(gpu, name, bias), meta };
}

/**
 * A linear layer's f32 master (the engine's Masters entry). A bare Float32Array is accepted for a block projection
 * (its bias, if any, under the name ending in `bias`); bare arrays are not carried into the returned map.
 */
export interface MasterEntry {
  W: Float32Array; // (rows, cols) row-major
  bias: Float32Array | null; // (rows)
  rows: number;
  cols: number;
}
export type PruneMasters = ReadonlyMap<string, MasterEntry | Float32Array>;

export interface PrunedTensorReport extends TensorReport {
  format: string; // storage format chosen ('f32', '2:4', 'sparse')
  kernel: SparseKernel | '2:4' | 'dense'; // the decode kernel ('dense' = masked or shrunk f32 GEMV)
}

export interface SparseReport extends Omit<PruneReport, 'tensors'> {
  tensors: PrunedTensorReport[];
  /** Sparsity from which unstructured tensors use the SELL kernel on this adapter. */
  crossover: number;
  /** GPU bytes of all linear layers after applyPruning (0 from pruneMasters). */
  weightBytes: number;
}

export interface PrunedMasters {
  /** Pruned dense masters of every block projection (shrunk for structured), plus the other entries unchanged. */
  masters: Map<string, MasterEntry>;
  report: SparseReport;
}

function entry(masters: PruneMasters, name: string): MasterEntry | null {
  const m = masters.get(name);
  if (!m) return null;
  if (!(m instanceof Float32Array)) return m;
  const b = masters.get(name.replace(/weight$/, 'bias')) ?? null;
  const bias = b instanceof Float32Array ? b : (b?.W ?? null);
  return { W: m, bias, rows: 0, cols: 0 };
}

const BIAS: Partial<Record<LinearKey, (typeof BIAS_KEYS)[keyof typeof BIAS_KEYS]>> = BIAS_KEYS;

/** Pure host step: prune the block projections of `masters` (HF names) per `spec`. Inputs are not modified. */
export function pruneMasters(masters: PruneMasters, cfg: ModelConfig, spec: PruneSpec, traits: Gpu['traits']): PrunedMasters {
  const layers: LayerLinears[] = [];
  const keys = linearKeys(cfg);
  for (let l = 0; l < cfg.nLayers; l++) {
    const lw = { gate: null, qBias: null, kBias: null, vBias: null, oBias: null, upBias: null, downBias: null } as Record<string, Float32Array | null>;
    for (const k of keys) {
      const name = linearName(l, k);
      const e = entry(masters, name);
      const [rows, cols] = linearShape(cfg, k);
      if (!e) throw new Error(`pruneMasters: no master for ${name}`);
      if (e.W.length !== rows * cols) throw new Error(`pruneMasters: master ${name} has ${e.W.length} values, config says (${rows}, ${cols})`);
      lw[k] = e.W;
      if (BIAS[k]) lw[BIAS[k]!] = e.bias;
    }
    layers.push(lw as unknown as LayerLinears);
  }
  const r = pruneLayers(layers, cfg, spec);
  const crossover = sparseCrossover(traits);
  const out = new Map<string, MasterEntry>();
  for (const [name, m] of masters) if (!(m instanceof Float32Array)) out.set(name, m); // lm_head etc. unchanged
  const tensors = r.report.tensors.map((t, i): PrunedTensorReport => {
    const l = Math.floor(i / keys.length);
    const k = keys[i % keys.length]!;
    const src = (r.shrunk ?? r.masked)[l]!;
    out.set(t.name, { W: src[k]!, bias: BIAS[k] ? src[BIAS[k]!] : null, rows: t.rows, cols: t.cols });
    if (!t.pruned || spec.kind === 'structured') return { ...t, format: 'f32', kernel: 'dense' };
    if (spec.kind === '2:4') return { ...t, format: '2:4', kernel: '2:4' };
    const kernel = chooseSparseKernel(1 - t.kept / t.total, traits);
    return { ...t, format: kernel === 'sell' ? 'sparse' : 'f32', kernel };
  });
  return { masters: out, report: { ...r.report, tensors, crossover, weightBytes: 0 } };
}

/**
 * Re-pack every block projection of `model` from the dense `masters` (never from the GPU copy, so specs can be
 * switched back and forth, 'none' included) and return the pruned dense masters for a later quantizer.
 * lm_head (tied or not) is left as it is.
 */
export function applyPruning(gpu: Gpu, model: GpuModel, masters: PruneMasters, cfg: ModelConfig, spec: PruneSpec): PrunedMasters {
  const res = pruneMasters(masters, cfg, spec, gpu.traits);
  const byName = new Map(res.report.tensors.map((t) => [t.name, t]));
  model.replaceLinears((old) => {
    const t = byName.get(old.name);
    if (!t) return old;
    const m = res.masters.get(old.name)!;
    const sparsity = t.total ? 1 - t.kept / t.total : 0;
    if (t.format === '2:4') return upload24(gpu, old.name, t.rows, t.cols, m.W, m.bias);
    if (t.format === 'sparse') return uploadSparse(gpu, old.name, t.rows, t.cols, m.W, m.bias);
    const l = uploadLinear(gpu, old.name, t.rows, t.cols, m.W, m.bias);
    if (t.pruned) l.meta = spec.kind === 'structured' ? { sparsity, kernel: 'dense', structured: true } : { sparsity, kernel: 'dense' };
    return l;
  });
  res.report.weightBytes = model.linears().reduce((s, l) => s + linearBytes(l), 0);
  return res;
}
