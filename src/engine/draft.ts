// Drafts for speculative decoding at a precision other than the target's (TechniqueSettings.speculative
// .draftPrecision), built with the existing quantization code — never a second forward pass:
//   - self-draft ('self', k layers): 'same' shares the target's own first k layers (generateSpeculative's
//     { selfLayers: k }: the draft writes the target's KV rows, which the verify then overwrites). 'int8' / 'int4'
//     build a separate GpuModel of the target's first k layers + its final norm and head from the dense host
//     weights, re-packed with applyPrecision (quant-formats.ts defaultPlan: an int4 body keeps an int8 head). It
//     runs as a separate draft (own KV cache for its k layers, which equal the target's first k layers up to
//     quantization, as the rows the target writes there would), so generateSpeculative's draft-model path runs
//     it unchanged. Built from the dense weights even when the target is pruned (the draft is never pruned).
//   - draft model ('model'): its linears are re-packed in place to the draft precision ('same' = the target's
//     body precision and group size; f32 for an f32 target) from its host master copy.
// Output is lossless whatever the draft's precision: the target verifies every token.
// GPU bytes: the self-draft copy exists only while a self-draft at another precision is selected (destroyed on
// any other setting), so toggling returns to the same figure.

import type { Gpu } from '../gpu/device';
import type { ModelConfig } from '../model/config';
import { GpuModel } from '../model/transformer';
import type { HostWeights } from '../model/weights';
import { applyPrecision, defaultPlan, mastersFromHost, type QuantMasters, type QuantSpec } from '../techniques/quant-formats';
import type { TechniqueSettings } from './types';

/** Target precisions a draft can be re-packed to as 'same' (others, e.g. a file's own codes, give f32). */
const REPACKABLE: readonly string[] = ['f32', 'int8', 'int4', 'int4z'];

/** The precision the draft runs at: 'same' = the target's body precision (and group size). */
export function draftSpec(s: TechniqueSettings): QuantSpec {
  const p = s.speculative.draftPrecision ?? 'same';
  const same = (REPACKABLE.includes(s.quant.precision) ? s.quant.precision : 'f32') as QuantSpec['precision'];
  return { precision: p === 'same' ? same : p, groupSize: s.quant.groupSize };
}

/** Whether these settings run a self-draft with its own packed copy (a precision other than 'same'). */
export function needsSelfDraftCopy(s: TechniqueSettings): boolean {
  const p = s.speculative.draftPrecision ?? 'same';
  return s.speculative.enabled && s.speculative.draft === 'self' && p !== 'same';
}

/** Identifies a built self-draft copy (rebuilt when any part changes). */
export function selfDraftKey(s: TechniqueSettings): string {
  const spec = draftSpec(s);
  return `${s.speculative.selfLayers}|${spec.precision}|${spec.groupSize}`;
}

/** The target's first k layers + final norm + head as their own GpuModel, packed to `spec`. */
export function buildSelfDraft(gpu: Gpu, cfg: ModelConfig, w: HostWeights, k: number, spec: QuantSpec, maxSeq: number): GpuModel {
  if (!(Number.isInteger(k) && k >= 1 && k <= cfg.nLayers)) throw new Error(`self-draft: k ${k} must be an integer in 1..${cfg.nLayers}`);
  const part: HostWeights = { ...w, layers: w.layers.slice(0, k) };
  const model = new GpuModel(gpu, { ...cfg, nLayers: k }, part, maxSeq);
  try {
    packDraft(gpu, model, mastersFromHost(part), spec);
  } catch (e) {
    model.destroy();
    throw e;
  }
  return model;
}

/** Re-pack a draft's linears to `spec` from its masters (layers already in that storage are kept). */
export function packDraft(gpu: Gpu, model: GpuModel, masters: QuantMasters, spec: QuantSpec): void {
  applyPrecision(gpu, model, masters, defaultPlan(spec.precision, spec.groupSize));
}
