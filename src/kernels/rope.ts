// RoPE spec: rotary position embeddings in place (HF rotate_half). Math: shaders/rope.wgsl. CPU spec: src/ref/rope.ts.
import source from '../../shaders/rope.wgsl?raw';
import { defineKernel, read, readWrite, type Variant } from '../gpu/kernel';
import { fold, groups } from './common';

export interface RopeShape {
  /** Tokens (positions pos0..pos0+n−1; pos0 is a uniform). */
  n: number;
  /** Heads in x (query heads for q, kv heads for k). */
  nHeads: number;
  headDim: number;
  /** Leading dims of each head that rotate (even, <= headDim); default headDim. */
  rotaryDim?: number;
}

const WG = 64;

export const rope = defineKernel<RopeShape, Variant>({
  name: 'rope',
  source,
  uniforms: [['n', 'u32'], ['nHeads', 'u32'], ['headDim', 'u32'], ['rotaryDim', 'u32'], ['pos0', 'u32']],
  bindings: [read('invFreq'), readWrite('x')],
  variant: (s) => {
    const rd = s.rotaryDim ?? s.headDim;
    if (rd % 2 !== 0 || rd > s.headDim) throw new Error(`rope: rotaryDim ${rd} must be even and <= headDim ${s.headDim}`);
    return { entry: 'main', constants: { WG } };
  },
  dispatch: (s) => fold(groups((s.n * s.nHeads * (s.rotaryDim ?? s.headDim)) / 2, WG)),
});
