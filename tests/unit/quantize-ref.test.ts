// src/ref/quant.ts, hand-checked: round half to even, frexp's exponent, per-group activation quantization with
// power-of-two scales, and the int8×int8 linear (a8) on a worked example; linearQuant = linear(dequantize).
import { describe, expect, it } from 'vitest';
import { linear } from '../../src/ref/linear';
import { frexpExp, linearA8, linearQuant, quantizeActivations, roundHalfEven } from '../../src/ref/quant';
import { randn } from '../../src/ref/random';
import { dequantize, quantize } from '../../src/techniques/quantize';

describe('src/ref/quant.ts', () => {
  it('roundHalfEven', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, 2.6, -2.6].map(roundHalfEven)).toEqual([0, 2, 2, 0, -2, -2, 2, 3, -3]);
  });

  it('frexpExp: amax = f·2^e with f in [0.5, 1)', () => {
    expect(frexpExp(1)).toBe(1); // 1 = 0.5·2^1
    expect(frexpExp(0.5)).toBe(0);
    expect(frexpExp(0.75)).toBe(0);
    expect(frexpExp(3)).toBe(2);
    expect(frexpExp(4)).toBe(3);
    expect(frexpExp(1e-30)).toBe(-99); // 2^-100 ≈ 7.9e-31 ≤ 1e-30 < 2^-99
    expect(frexpExp(0)).toBe(0);
  });

  it('quantizeActivations: one group of 8, amax 3 → e 2, scale 2^-5, q = round(x·32)', () => {
    const x = [3, -3, 1, 0.5, 1 / 64, 3 / 64, -0.99, 0, /* group 2: */ 0, 0];
    const { q, scales } = quantizeActivations(x, 1, 10, 8);
    expect(Array.from(scales)).toEqual([2 ** -5, 1 / 128]); // the all-zero group: e = 0
    // 3·32 = 96; 1/64·32 = 0.5 → 0 (half to even); 3/64·32 = 1.5 → 2; −0.99·32 = −31.68 → −32
    expect(Array.from(q)).toEqual([96, -96, 32, 16, 0, 2, -32, 0, 0, 0]);
  });

  it('quantizeActivations clamps at 127 (amax just under a power of two)', () => {
    const { q, scales } = quantizeActivations([0.999, -0.999, 0.1, 0, 0, 0, 0, 0], 1, 8, 8);
    expect(scales[0]).toBe(2 ** -7); // e = 0
    expect(Array.from(q.subarray(0, 3))).toEqual([127, -127, 13]); // 0.999·128 = 127.87 → 128 → clamped
  });

  it('linearA8 on a worked example', () => {
    // weights [[127, -127, 1, -1, 2, 0, 0, 0]] with scale 1 (max 127), x as above (group of 8)
    const p = quantize(new Float32Array([127, -127, 1, -1, 2, 0, 0, 0]), 1, 8, 'q8', 8);
    const x = [3, -3, 1, 0.5, 1 / 64, 3 / 64, -0.99, 0];
    // codes x: 96, −96, 32, 16, 0, 2, −32, 0 → Σ = 127·96 + 127·96 + 32 − 16 + 0 = 24400; × 1 × 2^-5 = 762.5
    expect(Array.from(linearA8(p, x))).toEqual([762.5]);
    expect(Array.from(linearA8(p, x, 1, [1], [0.25]))).toEqual([763.75]);
    expect(() => linearA8(quantize(new Float32Array(8).fill(1), 1, 8, 'q4', 8), x)).toThrow(/q8/);
  });

  it('linearA8 is close to the f32-activation result, linearQuant equals linear(dequantize)', () => {
    const W = randn(7 * 45, 3, 0.5);
    const x = randn(2 * 45, 4);
    const p = quantize(W, 7, 45, 'q8', 32);
    const exact = linear(dequantize(p), x, 7, 45, 2);
    expect(Array.from(linearQuant(p, x, 2))).toEqual(Array.from(exact));
    const a8 = linearA8(p, x, 2);
    const scale = Math.max(...exact.map(Math.abs));
    for (let i = 0; i < exact.length; i++) expect(Math.abs(a8[i]! - exact[i]!) / scale).toBeLessThan(2e-2);
  });
});
