// A linear layer's weights on the GPU and the one call that applies them: GEMV for one token, matmul for many.
// Techniques (quantization, pruning) change how a LinearWeight is stored and which kernel runs; the forward
// pass only ever calls applyLinear().

import type { Gpu } from '../gpu/device';
import type { Recorder } from '../gpu/recorder';
import type { GpuTensor } from '../gpu/tensor';
import { gemv } from '../kernels/gemv';
import { matmul } from '../kernels/matmul';

export interface LinearWeight {
  name: string; // HF tensor name, e.g. model.layers.0.self_attn.q_proj.weight
  rows: number; // out_features
  cols: number; // in_features
  W: GpuTensor; // (rows, cols) f32
  bias: GpuTensor | null; // (rows)
}

export function uploadLinear(gpu: Gpu, name: string, rows: number, cols: number, data: Float32Array, bias: Float32Array | null): LinearWeight {
  return {
    name,
    rows,
    cols,
    W: gpu.pool.fromArray(name, [rows, cols], data, 'weights'),
    bias: bias ? gpu.pool.fromArray(name.replace(/weight$/, 'bias'), [rows], bias, 'weights') : null,
  };
}

export function releaseLinear(gpu: Gpu, l: LinearWeight): void {
  gpu.pool.release(l.W);
  gpu.pool.release(l.bias ?? undefined);
}

/** Bytes one application reads from the weights (for the roofline meter). */
export function linearBytes(l: LinearWeight): number {
  return l.W.bytes + (l.bias?.bytes ?? 0);
}

/** y (n, rows) = x (n, cols) · Wᵀ (+ b) (+ y when accumulate). */
export function applyLinear(rec: Recorder, l: LinearWeight, x: GpuTensor, y: GpuTensor, n: number, accumulate = false): void {
  const bias = l.bias !== null;
  const tensors = { W: l.W, x, b: l.bias ?? l.W, y };
  if (n === 1) rec.run(gemv, { rows: l.rows, cols: l.cols, bias, accumulate }, tensors, { rows: l.rows, cols: l.cols });
  else rec.run(matmul, { n, rows: l.rows, cols: l.cols, bias, accumulate }, tensors, { n, rows: l.rows, cols: l.cols });
}
