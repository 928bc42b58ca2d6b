import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/device';
import { Recorder } from '../../src/gpu/recorder';
import { ATTENTION_VARIANTS, attention, attentionUniforms, attentionVariantName } from '../../src/kernels/attention';
import { attention as attentionRef } from '../../src/ref/attention';
import { mulberry32, randint, randn } from '../../src/ref/random';
import { expectClose, getGpu, poison } from './harness';

describe('attention (causal GQA over the KV cache) vs src/ref/attention.ts', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await getGpu();
  });
  afterAll(() => gpu.pool.trim());
  const u = mulberry32(5);
  // (n, nHeads, nKvHeads, headDim, pos0): decode (n = 1), prefill from 0, prefill/verify after a prefix,
  // GQA groups of 1..8, odd headDims (scalar paths only), headDim 256, more positions than a wg chunk (64).
  const shapes: [number, number, number, number, number][] = [
    [1, 1, 1, 4, 0], [1, 4, 2, 16, 9], [5, 6, 2, 12, 0], [7, 3, 3, 10, 2], [3, 8, 1, 64, 33], [1, 2, 1, 256, 70],
    [13, 4, 4, 32, 5], [3, 2, 2, 8, 100], [66, 1, 1, 4, 0], [2, 5, 5, 7, 3], [1, 1, 1, 1, 0], [4, 6, 3, 36, 131],
  ];
  for (let i = 0; i < 3; i++) {
    const kvH = randint(u, 1, 3);
    shapes.push([randint(u, 1, 9), kvH * randint(u, 1, 4), kvH, 4 * randint(u, 1, 20), randint(u, 0, 90)]);
  }

  for (const [n, nHeads, nKvHeads, headDim, pos0] of shapes) {
    for (const force of ATTENTION_VARIANTS) {
      if (force === 'thread_vec4' && headDim % 4 !== 0) continue;
      it(`${force} n=${n} heads=${nHeads}/${nKvHeads} headDim=${headDim} pos0=${pos0}`, async () => {
        const kvLen = pos0 + n;
        const maxSeq = kvLen + 3; // rows past kvLen hold NaN: a kernel that reads them fails
        const kvDim = nKvHeads * headDim;
        const seed = n * 1009 + nHeads * 101 + headDim * 7 + pos0;
        const q = randn(n * nHeads * headDim, seed);
        const k = randn(maxSeq * kvDim, seed + 1);
        const v = randn(maxSeq * kvDim, seed + 2);
        k.fill(Number.NaN, kvLen * kvDim);
        v.fill(Number.NaN, kvLen * kvDim);
        const tq = gpu.pool.fromArray('q', [n, nHeads * headDim], q, 'activations');
        const tk = gpu.pool.fromArray('k', [maxSeq, kvDim], k, 'kv');
        const tv = gpu.pool.fromArray('v', [maxSeq, kvDim], v, 'kv');
        const to = gpu.pool.alloc('out', [n, nHeads * headDim], 'f32', 'activations');
        poison(gpu, to);
        const shape = { n, nHeads, nKvHeads, headDim, kvLen, force };
        const rec = new Recorder(gpu);
        rec.run(attention, shape, { q: tq, k: tk, v: tv, out: to }, attentionUniforms(shape));
        rec.submit();
        const got = await gpu.pool.readF32(to);
        const want = attentionRef(q, k, v, n, pos0, nHeads, nKvHeads, headDim);
        expectClose(got, want, 1e-5, `attention ${force}`);
        for (const t of [tq, tk, tv, to]) gpu.pool.release(t);
      });
    }
  }

  it('chooses by traits and autotune; rejects what it cannot run', () => {
    const t = { isFallback: true, hasSubgroups: false, hasF16: false, maxWorkgroupSize: 256, tuned: {} };
    expect(attentionVariantName(64, t)).toBe('thread_vec4');
    expect(attentionVariantName(10, t)).toBe('thread');
    expect(attentionVariantName(64, { ...t, isFallback: false })).toBe('wg');
    expect(attentionVariantName(64, { ...t, tuned: { attention: 'wg' } })).toBe('wg');
    const s = { n: 1, nHeads: 2, nKvHeads: 1, headDim: 64, kvLen: 4 };
    expect(() => attention.variant({ ...s, headDim: 320 }, t)).toThrow(/headDim/);
    expect(() => attention.variant({ ...s, nKvHeads: 3 }, t)).toThrow(/multiple/);
    expect(() => attention.variant({ ...s, headDim: 6, force: 'thread_vec4' }, t)).toThrow(/% 4/);
    expect(attentionUniforms(s)).toEqual({ n: 1, nHeads: 2, nKvHeads: 1, headDim: 64, pos0: 3, scale: 0.125 });
  });
});
