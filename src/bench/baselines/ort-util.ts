// Small pure helpers for the ONNX Runtime baseline (no ORT import, so they are testable in Node).

import { OrtBaselineError } from './errors';

/** Per-layer ONNX input/output names, transformers.js convention. */
export interface KvLayerNames {
  pastKey: string; // past_key_values.{i}.key
  pastValue: string; // past_key_values.{i}.value
  presentKey: string; // present.{i}.key
  presentValue: string; // present.{i}.value
}

/** What the baseline needs from config.json. */
export interface KvSpec {
  nLayers: number; // num_hidden_layers
  nKvHeads: number; // num_key_value_heads (default num_attention_heads)
  headDim: number; // head_dim, or hidden_size / num_attention_heads
  vocabSize: number; // vocab_size
  maxSeq: number; // max_position_embeddings (Infinity when absent)
  eosTokenIds: number[]; // eos_token_id (number or list; [] when absent)
  layerNames: KvLayerNames[]; // one entry per layer
}

function int(config: Record<string, unknown>, key: string, fallback?: number): number {
  const v = config[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new OrtBaselineError(`config.json: '${key}' must be a positive integer (got ${JSON.stringify(config[key])})`);
  }
  return v;
}

/** Read the KV-cache geometry and the ONNX names from a Hugging Face config.json object. */
export function kvSpec(config: Record<string, unknown>): KvSpec {
  const nLayers = int(config, 'num_hidden_layers');
  const nHeads = int(config, 'num_attention_heads');
  const nKvHeads = int(config, 'num_key_value_heads', nHeads);
  const hidden = int(config, 'hidden_size');
  const headDim = config.head_dim != null ? int(config, 'head_dim') : hidden / nHeads;
  if (!Number.isInteger(headDim)) throw new OrtBaselineError(`config.json: hidden_size ${hidden} is not a multiple of num_attention_heads ${nHeads}`);
  const maxPos = config.max_position_embeddings;
  const eos = config.eos_token_id;
  const eosTokenIds = typeof eos === 'number' ? [eos] : Array.isArray(eos) ? eos.filter((x): x is number => typeof x === 'number') : [];
  return {
    nLayers,
    nKvHeads,
    headDim,
    vocabSize: int(config, 'vocab_size'),
    maxSeq: typeof maxPos === 'number' && maxPos > 0 ? maxPos : Infinity,
    eosTokenIds,
    layerNames: Array.from({ length: nLayers }, (_, i) => ({
      pastKey: `past_key_values.${i}.key`,
      pastValue: `past_key_values.${i}.value`,
      presentKey: `present.${i}.key`,
      presentValue: `present.${i}.value`,
    })),
  };
}

/** Index of the first maximum of x[offset .. offset+n). */
export function argmax(x: ArrayLike<number>, offset: number, n: number): number {
  let best = 0;
  let bestV = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = x[offset + i]!;
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  return best;
}

/** Percentile (0..100), nearest-rank on the sorted copy; NaN when empty (same as src/engine/generate.ts). */
export function percentile(xs: readonly number[], p: number): number {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
