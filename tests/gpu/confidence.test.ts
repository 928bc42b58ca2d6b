// confidence (early exit's test) vs src/ref/confidence.ts over random odd sizes, both criteria.
// Tolerances: maxprob relative 1e-5 (f32 sums of exps); entropy absolute 1e-5 nats · max(1, ln n): it is the
// difference ln S − T/S of two terms of size up to ln n, so its error scales with ln n, not with itself (it is
// 0 for a one-hot row). The argmax (first index of the max) must match exactly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/device';
import { Recorder } from '../../src/gpu/recorder';
import { type ConfidenceCriterion, confidence, confidenceUniforms } from '../../src/kernels/confidence';
import { confidence as confidenceRef } from '../../src/ref/confidence';
import { randn } from '../../src/ref/random';
import { getGpu } from './harness';

const POISON = 0x7fc00001; // a NaN bit pattern

describe('confidence (argmax + maxprob / entropy) vs src/ref/confidence.ts', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await getGpu();
  });
  afterAll(() => gpu.pool.trim());

  const rows: [string, Float32Array][] = [];
  for (const n of [1, 3, 37, 63, 64, 65, 257, 1000, 1024, 4097, 32003, 151936]) rows.push([`randn n=${n}`, randn(n, n + 5, 1 + (n % 7))]);
  rows.push(['sharp (one logit far above)', randn(517, 9).map((v, i) => (i === 300 ? 60 : v))]);
  rows.push(['ties at the max', randn(333, 11).map((v) => Math.round(v))]);
  rows.push(['all negative, max last', Float32Array.from(randn(129, 12), (v, i) => (i === 128 ? -1 : -Math.abs(v) - 3))]);
  rows.push(['near-uniform', randn(1023, 13, 1e-3)]);

  for (const criterion of ['maxprob', 'entropy'] as ConfidenceCriterion[]) {
    for (const [name, z] of rows) {
      it(`${criterion}: ${name}`, async () => {
        const n = z.length;
        const tz = gpu.pool.fromArray('logits', [n], z, 'activations');
        const out = gpu.pool.fromArray('out', [2], new Uint32Array([POISON, POISON]), 'activations');
        const rec = new Recorder(gpu);
        rec.run(confidence, { n }, { logits: tz, out }, confidenceUniforms(n, criterion));
        rec.submit();
        const raw = await gpu.pool.read(out, 8);
        const [id] = new Uint32Array(raw);
        const c = new Float32Array(raw)[1]!;
        const want = confidenceRef(z);
        expect(id, 'argmax').toBe(want.argmax);
        if (criterion === 'maxprob') expect(Math.abs(c - want.maxProb) / want.maxProb, `maxprob ${c} vs ${want.maxProb}`).toBeLessThanOrEqual(1e-5);
        else expect(Math.abs(c - want.entropy), `entropy ${c} vs ${want.entropy}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.log(n)));
        gpu.pool.release(tz);
        gpu.pool.release(out);
      });
    }
  }
});
