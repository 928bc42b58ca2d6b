// Element-wise specs: residual add, SwiGLU, GELU. Math and variants: shaders/elementwise.wgsl.
// CPU spec: src/ref/activation.ts (add, swiglu, gelu).
import source from '../../shaders/elementwise.wgsl?raw';
import { defineKernel, read, readWrite, type Variant } from '../gpu/kernel';
import { fold, groups } from './common';

export interface ElementwiseShape {
  /** Element count (tokens × features). */
  n: number;
}

const WG = 64;

/** `<entry>_vec4` when n % 4 == 0, else the scalar entry. */
const pick = (entry: string) => (s: ElementwiseShape): Variant => ({ entry: s.n % 4 === 0 ? `${entry}_vec4` : entry, constants: { WG } });
const threads = (s: ElementwiseShape, v: Variant): readonly [number, number] =>
  fold(groups(v.entry!.endsWith('_vec4') ? s.n / 4 : s.n, WG));

/** y += a. */
export const add = defineKernel<ElementwiseShape, Variant>({
  name: 'add',
  source,
  uniforms: [['n', 'u32']],
  bindings: [read('a'), readWrite('y')],
  variant: pick('add'),
  dispatch: threads,
});

/** out = silu(gate) · up. */
export const swiglu = defineKernel<ElementwiseShape, Variant>({
  name: 'swiglu',
  source,
  uniforms: [['n', 'u32']],
  bindings: [read('gate'), read('up'), readWrite('out')],
  variant: pick('swiglu'),
  dispatch: threads,
});

/** x = gelu(x) in place (tanh approximation). */
export const gelu = defineKernel<ElementwiseShape, Variant>({
  name: 'gelu',
  source,
  uniforms: [['n', 'u32']],
  bindings: [readWrite('x')],
  variant: pick('gelu'),
  dispatch: threads,
});
