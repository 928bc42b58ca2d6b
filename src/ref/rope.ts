// CPU reference (float64) for shaders/rope.wgsl: rotary position embeddings, Hugging Face "rotate_half" layout.
//
//   inv_freq[i] = theta^(−2i / rotaryDim), i < rotaryDim/2   (then Llama-3 scaling, below, when configured)
//   For token t at position p = pos0 + t, each head's first rotaryDim dims, with h = rotaryDim/2, i < h:
//     angle = p · inv_freq[i]
//     out[i]     = x[i] cos(angle) − x[i + h] sin(angle)
//     out[i + h] = x[i + h] cos(angle) + x[i] sin(angle)
//   Dims rotaryDim..headDim−1 pass through (partial rotary, e.g. partial_rotary_factor < 1).
//
//   Llama-3 scaling (transformers' _compute_llama3_parameters): with wavelen = 2π / inv_freq,
//   low = L / low_freq_factor, high = L / high_freq_factor (L = original_max_position_embeddings):
//     wavelen < high  → unchanged (high frequencies)
//     wavelen > low   → inv_freq / factor (low frequencies)
//     otherwise       → (1 − s) · inv_freq / factor + s · inv_freq,  s = (L / wavelen − low_freq_factor) / (high_freq_factor − low_freq_factor)
import type { Vec } from './linear';

/** config.json's `rope_scaling` (only rope_type 'llama3' scales; 'default' or null leave inv_freq alone). */
export interface RopeScaling {
  rope_type: 'llama3' | 'default';
  factor: number;
  low_freq_factor: number;
  high_freq_factor: number;
  original_max_position_embeddings: number;
}

export function ropeInvFreq(headDim: number, theta: number, rotaryDim = headDim, scaling?: RopeScaling | null): Float64Array {
  if (rotaryDim % 2 !== 0 || rotaryDim > headDim) throw new Error(`rope: rotaryDim ${rotaryDim} must be even and <= headDim ${headDim}`);
  const half = rotaryDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = theta ** (-(2 * i) / rotaryDim);
  if (!scaling || scaling.rope_type === 'default') return inv;
  if (scaling.rope_type !== 'llama3') throw new Error(`rope: unsupported rope_scaling.rope_type '${String(scaling.rope_type)}'`);
  const { factor, low_freq_factor: lo, high_freq_factor: hi, original_max_position_embeddings: L } = scaling;
  const lowWavelen = L / lo;
  const highWavelen = L / hi;
  for (let i = 0; i < half; i++) {
    const f = inv[i]!;
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) continue;
    if (wavelen > lowWavelen) {
      inv[i] = f / factor;
      continue;
    }
    const s = (L / wavelen - lo) / (hi - lo);
    inv[i] = ((1 - s) * f) / factor + s * f;
  }
  return inv;
}

/**
 * x: (n, nHeads·headDim) for positions pos0..pos0+n−1 → rotated copy. `f32Angles` rounds each angle to f32
 * as the GPU kernel computes it (f32(p) · inv_freq in f32), so a test can isolate the kernel's cos/sin error.
 */
export function rope(
  x: Vec, n: number, nHeads: number, headDim: number, pos0: number, invFreq: Vec, rotaryDim = headDim, f32Angles = false,
): Float64Array {
  const half = rotaryDim / 2;
  if (invFreq.length < half) throw new Error(`rope: ${invFreq.length} inverse frequencies for rotaryDim ${rotaryDim}`);
  const out = Float64Array.from(x);
  for (let t = 0; t < n; t++) {
    const p = pos0 + t;
    for (let h = 0; h < nHeads; h++) {
      const o = (t * nHeads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const a = f32Angles ? Math.fround(Math.fround(p) * Math.fround(invFreq[i]!)) : p * invFreq[i]!;
        const c = Math.cos(a);
        const s = Math.sin(a);
        const x0 = x[o + i]!;
        const x1 = x[o + i + half]!;
        out[o + i] = x0 * c - x1 * s;
        out[o + i + half] = x1 * c + x0 * s;
      }
    }
  }
  return out;
}
