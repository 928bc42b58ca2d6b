// rope (in place, HF rotate_half) vs src/ref/rope.ts.
//
// Tolerances. The kernel rounds each angle f32(p)·invFreq[i] to f32 (as transformers does in float32), which
// moves it by up to half an ulp of the angle: 2^-19 ≈ 1.9e-6 rad below 32, 2^-13 ≈ 6.1e-5 rad below 2048.
// An output pair moves by at most that angle error times its norm (≤ √2·max|x|), so against the exact float64
// reference we use 1e-5 for positions < 32 and 2e-4 for positions up to ~2000. Against the reference that
// rounds the angle to f32 the same way (f32Angles), only the kernel's cos/sin and range reduction remain:
// 1e-5 at every position, including 131k (a Llama-3 context), which checks the explicit range reduction.
// In place, so nothing is poisoned: a skipped pair keeps its input, which differs from the rotated value.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/device';
import { Recorder } from '../../src/gpu/recorder';
import { rope } from '../../src/kernels/rope';
import * as ref from '../../src/ref/rope';
import { mulberry32, randint, randn } from '../../src/ref/random';
import { expectClose, getGpu } from './harness';

describe('rope vs src/ref/rope.ts', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await getGpu();
  });
  afterAll(() => gpu.pool.trim());

  async function check(n: number, nHeads: number, headDim: number, rotaryDim: number, pos0: number, scaling: ref.RopeScaling | null = null): Promise<void> {
    const x = randn(n * nHeads * headDim, n * 131 + headDim + pos0);
    const inv = new Float32Array(ref.ropeInvFreq(headDim, 10000, rotaryDim, scaling));
    const tInv = gpu.pool.fromArray('invFreq', [rotaryDim / 2], inv, 'weights');
    const tx = gpu.pool.fromArray('x', [n, nHeads * headDim], x, 'activations');
    const rec = new Recorder(gpu);
    const shape = rotaryDim === headDim ? { n, nHeads, headDim } : { n, nHeads, headDim, rotaryDim };
    rec.run(rope, shape, { invFreq: tInv, x: tx }, { n, nHeads, headDim, rotaryDim, pos0 });
    rec.submit();
    const got = await gpu.pool.readF32(tx);
    const what = `rope n=${n} heads=${nHeads} headDim=${headDim} rotary=${rotaryDim} pos0=${pos0}`;
    const maxPos = pos0 + n - 1;
    if (maxPos <= 2100) expectClose(got, ref.rope(x, n, nHeads, headDim, pos0, inv, rotaryDim), maxPos < 32 ? 1e-5 : 2e-4, `${what} (f64 angles)`);
    expectClose(got, ref.rope(x, n, nHeads, headDim, pos0, inv, rotaryDim, true), 1e-5, `${what} (f32 angles)`);
    for (const t of [tInv, tx]) gpu.pool.release(t);
  }

  // [n, nHeads, headDim, rotaryDim, pos0]
  const shapes: [number, number, number, number, number][] = [
    [1, 1, 2, 2, 0], [3, 5, 6, 6, 7], [7, 3, 10, 6, 13], [5, 4, 64, 64, 0], [2, 2, 128, 128, 1995], [33, 1, 18, 18, 1000],
    [1, 14, 64, 64, 2000], [9, 7, 30, 30, 1], [4, 2, 16, 8, 25], [1, 3, 64, 64, 131000],
  ];
  const u = mulberry32(9);
  for (let i = 0; i < 3; i++) {
    const headDim = 2 * randint(u, 1, 40);
    shapes.push([randint(u, 1, 20), randint(u, 1, 9), headDim, 2 * randint(u, 1, headDim / 2), randint(u, 0, 2000)]);
  }
  for (const [n, nHeads, headDim, rotaryDim, pos0] of shapes) {
    it(`n=${n} heads=${nHeads} headDim=${headDim} rotary=${rotaryDim} pos0=${pos0}`, () => check(n, nHeads, headDim, rotaryDim, pos0));
  }

  it('with Llama-3 scaled frequencies', () =>
    check(6, 4, 64, 64, 1500, { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 }));

  it('rejects an odd or too large rotaryDim', () => {
    expect(() => rope.variant({ n: 1, nHeads: 1, headDim: 8, rotaryDim: 5 }, gpu.traits)).toThrow(/even/);
    expect(() => rope.variant({ n: 1, nHeads: 1, headDim: 8, rotaryDim: 10 }, gpu.traits)).toThrow(/even/);
  });
});
