// Token selection on the GPU: argmax (greedy) and sample (temperature / top-k / top-p), one workgroup each,
// writing one u32 token id. Math: shaders/sample.wgsl. CPU spec: src/ref/sample.ts (argmax, sample).
// sample's uniforms: { n, temperature (0 ⇒ argmax), topK (0 = off), topP (1 = off), u (uniform in [0, 1)) };
// sampleUniforms() builds them.
import source from '../../shaders/sample.wgsl?raw';
import { defineKernel, read, readWrite } from '../gpu/kernel';

export interface SampleShape {
  /** Vocabulary size (length of x / logits), up to 151,936 and beyond. */
  n: number;
}

/** Threads in the one workgroup (sample's bins take 16·WG·4 bytes of shared memory). */
const WG = 128;

export const argmax = defineKernel({
  name: 'argmax',
  source,
  uniforms: [['n', 'u32']],
  bindings: [read('x'), readWrite('out')],
  variant: (_s: SampleShape) => ({ entry: 'argmax', constants: { WG } }),
  dispatch: () => [1],
});

export const sample = defineKernel({
  name: 'sample',
  source,
  uniforms: [['n', 'u32'], ['temperature', 'f32'], ['topK', 'u32'], ['topP', 'f32'], ['u', 'f32']],
  bindings: [read('logits'), readWrite('out')],
  variant: (_s: SampleShape) => ({ entry: 'sample', constants: { WG } }),
  dispatch: () => [1],
});

export interface SampleSettings {
  temperature: number;
  topK: number;
  topP: number;
}

/** sample's uniform values. u must lie in [0, 1); it is rounded to f32 (so is everything else). */
export function sampleUniforms(n: number, s: SampleSettings, u: number): Record<string, number> {
  if (!(u >= 0 && u < 1)) throw new Error(`sample: u ${u} not in [0, 1)`);
  return { n, temperature: Math.max(0, s.temperature), topK: Math.max(0, Math.floor(s.topK)), topP: s.topP, u };
}
