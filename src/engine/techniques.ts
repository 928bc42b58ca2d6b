// Applying technique settings to a loaded model: prune (from the dense master copy), then quantize, then
// hand the forward pass new LinearWeights via model.replaceLinears. Pure re-packing: nothing is re-read from
// disk, and the same settings always give the same bytes (so toggling never leaks).

import type { Gpu } from '../gpu/device';
import type { ModelConfig } from '../model/config';
import { applyPrecision, defaultPlan, type QuantPlan } from '../techniques/quant-formats';
import { NO_PRUNING } from '../techniques/prune';
import { applyPruning, pruneMasters } from '../techniques/sparse-formats';
import { tiedHead, uploadEmbedding } from '../model/embedding-table';
import { linearBytes, type LinearWeight, uploadLinear } from '../model/linear';
import type { GpuModel } from '../model/transformer';
import type { HostWeights } from '../model/weights';
import type { Packed } from '../techniques/quantize';
import { DEFAULT_TECHNIQUES, type TechniqueSettings } from './types';

export class TechniqueError extends Error {
  override name = 'TechniqueError';
}

/** The f32 master of every linear layer, by LinearWeight.name (the tied head's master is the embedding);
 *  `packed`: the file's own codes for that linear (LoadedModel.prepacked), used by precision 'file'. */
export type Masters = Map<string, { W: Float32Array; bias: Float32Array | null; rows: number; cols: number; packed?: Packed }>;

export function masterCopy(w: HostWeights, prepacked?: ReadonlyMap<string, Packed>): Masters {
  const m: Masters = new Map();
  const H = w.finalNorm.length;
  w.layers.forEach((l, i) => {
    const p = `model.layers.${i}`;
    const add = (name: string, W: Float32Array, bias: Float32Array | null, rows: number) => m.set(name, { W, bias, rows, cols: W.length / rows });
    add(`${p}.self_attn.q_proj.weight`, l.q, l.qBias, l.q.length / H);
    add(`${p}.self_attn.k_proj.weight`, l.k, l.kBias, l.k.length / H);
    add(`${p}.self_attn.v_proj.weight`, l.v, l.vBias, l.v.length / H);
    add(`${p}.self_attn.o_proj.weight`, l.o, l.oBias, H);
    if (l.gate) add(`${p}.mlp.gate_proj.weight`, l.gate, null, l.gate.length / H);
    add(`${p}.mlp.up_proj.weight`, l.up, l.upBias, l.up.length / H);
    add(`${p}.mlp.down_proj.weight`, l.down, l.downBias, H);
  });
  const vocab = w.lmHead.length / H;
  m.set(w.lmHead === w.embed ? 'lm_head (tied)' : 'lm_head.weight', { W: w.lmHead, bias: null, rows: vocab, cols: H });
  for (const [name, p] of prepacked ?? []) {
    const e = m.get(name);
    if (!e) throw new Error(`masterCopy: prepacked '${name}' is not a linear of this model`);
    e.packed = p;
  }
  return m;
}

export function isDense(s: TechniqueSettings): boolean {
  return s.quant.precision === 'f32' && (s.quant.lmHead ?? 'f32') === 'f32' && s.prune.kind === 'none';
}

export interface ApplyResult {
  bytesByFormat: Record<string, number>;
  notes: string[];
}

/** Re-pack every linear layer of `model` for `settings` from `masters`: prune, then quantize. */
export function applyTechniques(gpu: Gpu, model: GpuModel, masters: Masters, cfg: ModelConfig, settings: TechniqueSettings): ApplyResult {
  const notes: string[] = [];
  const q = settings.quant;
  const quantized = q.precision !== 'f32' || (q.lmHead ?? 'f32') !== 'f32';
  const pruneNote = (r: ReturnType<typeof pruneMasters>) => {
    const kernels = new Map<string, number>();
    for (const t of r.report.tensors) if (t.pruned) kernels.set(t.kernel, (kernels.get(t.kernel) ?? 0) + 1);
    notes.push(`pruned ${[...kernels].map(([k, n]) => `${n} tensors → ${k} kernel`).join(', ')}; sparse kernel from ${Math.round(r.report.crossover * 100)}% sparsity on this adapter`);
  };
  if (!quantized) {
    // pruning re-packs every block projection from the dense masters ('none' restores dense f32)
    const pruned = applyPruning(gpu, model, masters, cfg, settings.prune);
    if (settings.prune.kind !== 'none') pruneNote(pruned);
    // the head and the embedding are never pruned: make sure they are dense f32 again after a quantized setting
    // (the f32 table re-uploaded from model.embedMaster; a tied head shares it again)
    const e = model.embed;
    const table = e.format === 'f32' ? e : uploadEmbedding(gpu, e.name, e.vocab, e.dim, model.embedMaster);
    model.replaceLinears((old) => {
      if (!old.name.startsWith('lm_head') || (old.format === 'f32' && table === e)) return old;
      if (old.name === 'lm_head (tied)') return tiedHead(gpu, model.embed);
      if (old.format === 'f32') return old;
      const m = masters.get(old.name)!;
      return uploadLinear(gpu, old.name, m.rows, m.cols, m.W, m.bias);
    }, table);
  } else {
    // prune, then quantize the pruned masters (a quantized layer is dense: sparse kernels give way to packed ones).
    // Structured pruning changes shapes, so its smaller layers are put in place first.
    let src: Masters = masters;
    const shrunk = model.linears().some((l) => {
      const m = masters.get(l.name);
      return m !== undefined && (m.rows !== l.rows || m.cols !== l.cols);
    });
    if (shrunk && settings.prune.kind !== 'structured') applyPruning(gpu, model, masters, cfg, NO_PRUNING); // full shapes back
    if (settings.prune.kind !== 'none') {
      const pruned = settings.prune.kind === 'structured' ? applyPruning(gpu, model, masters, cfg, settings.prune) : pruneMasters(masters, cfg, settings.prune, gpu.traits);
      pruneNote(pruned);
      src = pruned.masters;
    }
    const plan = quantPlan(q);
    applyPrecision(gpu, model, src, plan, { repackAll: true });
    if (plan.lmHead) notes.push(`lm_head at ${plan.lmHead.precision}${plan.lmHead.precision === 'f32' ? '' : ` g${plan.lmHead.groupSize}`}`);
  }
  return summarize(model.linears(), notes);
}

/** The per-layer plan of a precision setting: the default mixed scheme, or the body/head pair the user chose. */
export function quantPlan(q: TechniqueSettings['quant']): QuantPlan {
  return q.lmHead
    ? { default: { precision: q.precision, groupSize: q.groupSize }, lmHead: { precision: q.lmHead, groupSize: 32 } }
    : defaultPlan(q.precision, q.groupSize);
}

function summarize(ls: LinearWeight[], notes: string[]): ApplyResult {
  const bytesByFormat: Record<string, number> = {};
  for (const l of ls) bytesByFormat[l.format] = (bytesByFormat[l.format] ?? 0) + linearBytes(l);
  return { bytesByFormat, notes };
}

export function describe(s: TechniqueSettings): string {
  const parts = [s.quant.precision === 'f32' || s.quant.precision === 'f16' ? s.quant.precision : `${s.quant.precision} g${s.quant.groupSize}`];
  if (s.prune.kind !== 'none') parts.push(s.prune.kind === '2:4' ? '2:4' : `${s.prune.kind} ${Math.round(s.prune.sparsity * 100)}%`);
  if (s.earlyExit.enabled) parts.push(`exit@${s.earlyExit.threshold}`);
  if (s.speculative.enabled) parts.push(`spec ${s.speculative.draft} γ${s.speculative.gamma}`);
  return parts.join(' + ');
}

export { DEFAULT_TECHNIQUES };
