// Confidence spec: (argmax, max softmax probability or entropy) of one row of logits, for early exit.
// Math: shaders/confidence.wgsl. CPU spec: src/ref/confidence.ts. Output: out[0] = argmax (u32),
// out[1] = the confidence as f32 bits, so the host reads 8 bytes and `out` doubles as the next step's id.
import source from '../../shaders/confidence.wgsl?raw';
import { defineKernel, read, readWrite } from '../gpu/kernel';

export interface ConfidenceShape {
  /** Row length (the vocabulary size). */
  n: number;
}

/** What out[1] holds: the argmax's softmax probability, or the entropy of the softmax (nats). */
export type ConfidenceCriterion = 'maxprob' | 'entropy';

/** The `criterion` uniform's value per criterion. */
export const CRITERION_CODE: Record<ConfidenceCriterion, number> = { maxprob: 0, entropy: 1 };

/** Threads in the one workgroup (4 · 4 · WG bytes of shared memory). */
const WG = 64;

export const confidence = defineKernel({
  name: 'confidence',
  source,
  uniforms: [['n', 'u32'], ['criterion', 'u32']],
  bindings: [read('logits'), readWrite('out')],
  variant: (_s: ConfidenceShape) => ({ entry: 'confidence', constants: { WG } }),
  dispatch: () => [1],
});

/** confidence's uniform values. */
export function confidenceUniforms(n: number, criterion: ConfidenceCriterion): Record<string, number> {
  return { n, criterion: CRITERION_CODE[criterion] };
}
