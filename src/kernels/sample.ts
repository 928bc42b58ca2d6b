// Token selection on the GPU: argmax (greedy) and sample (temperature / top-k / top-p), one workgroup each,
// writing one u32 token id. Math: shaders/sample.wgsl. CPU spec: src/ref/sample.ts (argmax, sample).
// sample's uniforms: { n, temperature (0 ⇒ argmax), topK (0 = off), topP (1 = off), u (uniform in [0, 1)) };
// sampleUniforms() builds them.
import source from '../../shaders/sample.wgsl?raw';
import { defineKernel, read, readWrite, type AdapterTraits } from '../gpu/kernel';

export interface SampleShape {
  /** Vocabulary size (length of x / logits), up to 151,936 and beyond. */
  n: number;
  /** Threads in the one workgroup: 16 ..= 256 for argmax, 16 ..= 128 for sample (its bins take 16·wg·4 bytes of
   *  shared memory; 128 keeps it under 16 KiB in all). Default by adapter: 32 on CPU-emulated adapters (each
   *  barrier costs per thread there), 128 on GPUs. */
  wg?: number;
}

/** Workgroup size for this shape and adapter. */
export function sampleWorkgroupSize(s: SampleShape, traits: AdapterTraits, max = 128): number {
  const tuned = Number(traits.tuned['sample']); // an autotuned workgroup size, e.g. { sample: '64' }
  const wg = s.wg ?? (tuned > 0 ? tuned : traits.isFallback ? 32 : 128);
  const hi = Math.min(max, traits.maxWorkgroupSize);
  if (!(wg >= 16 && wg <= hi)) throw new Error(`sample/argmax: workgroup size ${wg} not in [16, ${hi}]`);
  return wg;
}

export const argmax = defineKernel({
  name: 'argmax',
  source,
  uniforms: [['n', 'u32']],
  bindings: [read('x'), readWrite('out')],
  variant: (s: SampleShape, traits) => ({ entry: 'argmax', constants: { WG: sampleWorkgroupSize(s, traits, 256) } }),
  dispatch: () => [1],
});

export const sample = defineKernel({
  name: 'sample',
  source,
  uniforms: [['n', 'u32'], ['temperature', 'f32'], ['topK', 'u32'], ['topP', 'f32'], ['u', 'f32']],
  bindings: [read('logits'), readWrite('out')],
  variant: (s: SampleShape, traits) => ({ entry: 'sample', constants: { WG: sampleWorkgroupSize(s, traits) } }),
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
