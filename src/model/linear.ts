// A linear layer's weights on the GPU and the one call that applies them. The forward pass only ever calls
// applyLinear(); how the weights are stored (f32, int8/int4 groups, sparse, 2:4, …) is the layer's `format`,
// and each format registers how it runs (GEMV for one token, matmul for many) and how many bytes it reads.
// Techniques make new LinearWeights from the host master copy; they never touch the forward pass.

import type { Gpu } from '../gpu/device';
import type { Recorder } from '../gpu/recorder';
import type { GpuTensor } from '../gpu/tensor';
import { gemv } from '../kernels/gemv';
import { matmul } from '../kernels/matmul';

export interface LinearWeight {
  name: string; // HF tensor name, e.g. model.layers.0.self_attn.q_proj.weight
  rows: number; // out_features
  cols: number; // in_features
  format: string; // key into the format registry: 'f32', 'q8', 'q4', …
  tensors: Record<string, GpuTensor>; // the format's storage, e.g. f32: { W: (rows, cols) }
  bias: GpuTensor | null; // (rows)
  /** Format details shown in the UI (e.g. { groupSize: 32 }, { sparsity: 0.5, kernel: 'csr' }). */
  meta?: Record<string, string | number | boolean>;
}

export interface LinearFormat {
  name: string;
  /** y (n, rows) = x (n, cols) · Wᵀ (+ b) (+ y when accumulate). */
  apply(rec: Recorder, l: LinearWeight, x: GpuTensor, y: GpuTensor, n: number, accumulate: boolean): void;
}

const formats = new Map<string, LinearFormat>();

export function registerFormat(f: LinearFormat): void {
  formats.set(f.name, f);
}

/** Dense f32: gemv for one token, matmul for many. */
registerFormat({
  name: 'f32',
  apply(rec, l, x, y, n, accumulate) {
    const bias = l.bias !== null;
    const tensors = { W: l.tensors['W']!, x, b: l.bias ?? l.tensors['W']!, y };
    if (n === 1) rec.run(gemv, { rows: l.rows, cols: l.cols, bias, accumulate }, tensors, { rows: l.rows, cols: l.cols });
    else rec.run(matmul, { n, rows: l.rows, cols: l.cols, bias, accumulate }, tensors, { n, rows: l.rows, cols: l.cols });
  },
});

export function applyLinear(rec: Recorder, l: LinearWeight, x: GpuTensor, y: GpuTensor, n: number, accumulate = false): void {
  const f = formats.get(l.format);
  if (!f) throw new Error(`${l.name}: no kernel registered for weight format '${l.format}'`);
  f.apply(rec, l, x, y, n, accumulate);
}

export function uploadLinear(gpu: Gpu, name: string, rows: number, cols: number, data: Float32Array, bias: Float32Array | null): LinearWeight {
  return {
    name,
    rows,
    cols,
    format: 'f32',
    tensors: { W: gpu.pool.fromArray(name, [rows, cols], data, 'weights') },
    bias: bias ? gpu.pool.fromArray(name.replace(/weight$/, 'bias'), [rows], bias, 'weights') : null,
  };
}

/** Release a layer's tensors, except those in `keep` (a tied head shares the embedding). */
export function releaseLinear(gpu: Gpu, l: LinearWeight, keep: readonly GpuTensor[] = []): void {
  for (const t of Object.values(l.tensors)) if (!keep.includes(t)) gpu.pool.release(t);
  gpu.pool.release(l.bias ?? undefined);
}

/** Bytes one application reads from the weights (for the roofline meter). */
export function linearBytes(l: LinearWeight): number {
  let b = l.bias?.bytes ?? 0;
  for (const t of Object.values(l.tensors)) b += t.bytes;
  return b;
}
