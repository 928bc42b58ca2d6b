// Hand-checked cases for the token-selection reference (src/ref/sample.ts), the spec the GPU kernel must match.
import { describe, expect, it } from 'vitest';
import { argmax, sample, sampleDetail } from '../../src/ref/sample';

const ln = (w: number[]) => w.map(Math.log);
const greedy = { temperature: 0, topK: 0, topP: 1 };
const plain = { temperature: 1, topK: 0, topP: 1 };

describe('ref argmax / sample', () => {
  it('argmax: the first index of the maximum', () => {
    expect(argmax([0.5, 3, -1, 3, 2])).toBe(1);
    expect(argmax([-4, -2, -3])).toBe(1);
    expect(argmax([7])).toBe(0);
  });

  it('temperature 0, top-k 1 and a tiny top-p are all argmax, whatever u', () => {
    const z = [0.3, -1.2, 2.5, 0.9, 2.4, -0.1];
    for (const u of [0, 0.3, 0.999]) {
      expect(sample(z, greedy, u)).toBe(2);
      expect(sample(z, { temperature: 1.5, topK: 1, topP: 1 }, u)).toBe(2);
      expect(sample(z, { temperature: 0.8, topK: 0, topP: 1e-9 }, u)).toBe(2);
      expect(sample(z, { temperature: 0.8, topK: 0, topP: 0 }, u)).toBe(2);
    }
  });

  it('walks ids in order against u: p = (0.1, 0.2, 0.3, 0.4)', () => {
    const z = ln([1, 2, 3, 4]);
    expect(sample(z, plain, 0)).toBe(0);
    expect(sample(z, plain, 0.05)).toBe(0);
    expect(sample(z, plain, 0.15)).toBe(1); // cumulative 0.1, 0.3
    expect(sample(z, plain, 0.35)).toBe(2); // 0.3 < 0.35 <= 0.6
    expect(sample(z, plain, 0.95)).toBe(3);
    expect(sample(z, plain, 0.999999)).toBe(3);
    const d = sampleDetail(z, plain, 0.35);
    [0.1, 0.2, 0.3, 0.4].forEach((p, i) => expect(d.probs![i]).toBeCloseTo(p, 12));
    expect(d.marginU).toBeCloseTo(0.05, 12); // |0.3 − 0.35|
  });

  it('top-k keeps the k largest and renormalises', () => {
    const z = ln([1, 2, 3, 4]);
    const s = { temperature: 1, topK: 2, topP: 1 };
    const d = sampleDetail(z, s, 0.4);
    expect(Array.from(d.probs!)).toEqual([0, 0, 3 / 7, 4 / 7].map((p) => expect.closeTo(p, 12)));
    expect(d.id).toBe(2); // 3/7 ≈ 0.43 >= 0.4
    expect(sample(z, s, 0.5)).toBe(3);
    expect(sample(z, s, 0)).toBe(2); // the first kept id
  });

  it('top-p keeps the smallest top set with mass >= topP', () => {
    const z = ln([1, 2, 3, 4]);
    // masses 0.4, 0.7 (>= 0.5) ⇒ keep ids 3, 2
    const d = sampleDetail(z, { temperature: 1, topK: 0, topP: 0.5 }, 0.4);
    expect(Array.from(d.probs!)).toEqual([0, 0, 3 / 7, 4 / 7].map((p) => expect.closeTo(p, 12)));
    expect(d.marginP).toBeCloseTo(0.1, 12); // |0.4 − 0.5|
    expect(sample(z, { temperature: 1, topK: 0, topP: 0.35 }, 0.01)).toBe(3); // 0.4 >= 0.35: id 3 alone
    // top-k 3 (mass 9: 2/9, 3/9, 4/9), then top-p 0.7 of that: 4/9 ≈ 0.44, 7/9 ≈ 0.78 ⇒ ids 2, 3
    const e = sampleDetail(z, { temperature: 1, topK: 3, topP: 0.7 }, 0.5);
    expect(Array.from(e.probs!)).toEqual([0, 0, 3 / 7, 4 / 7].map((p) => expect.closeTo(p, 12)));
    expect(e.id).toBe(3);
  });

  it('keeps ties at the top-k and top-p thresholds', () => {
    const z = [1, 3, 3, 0];
    for (const s of [{ temperature: 1, topK: 1, topP: 1 }, { temperature: 1, topK: 0, topP: 1e-6 }]) {
      const d = sampleDetail(z, s, 0.3);
      expect(Array.from(d.probs!)).toEqual([0, 0.5, 0.5, 0].map((p) => expect.closeTo(p, 12)));
      expect(d.id).toBe(1);
      expect(sample(z, s, 0.7)).toBe(2);
    }
    expect(sampleDetail([2, 1, 1, 1, 0], { temperature: 1, topK: 2, topP: 1 }, 0).threshold).toBe(1); // 3 tied kept
  });

  it('temperature divides the logits: T = 2 on ln(1, 4) gives p = (1/3, 2/3)', () => {
    const z = ln([1, 4]);
    const s = { temperature: 2, topK: 0, topP: 1 };
    expect(sample(z, s, 0.33)).toBe(0);
    expect(sample(z, s, 0.34)).toBe(1);
    expect(sampleDetail(z, s, 0.5).probs![1]).toBeCloseTo(2 / 3, 12);
  });

  it('top-k >= n and top-p >= 1 are off', () => {
    const z = ln([1, 2, 3, 4]);
    const d = sampleDetail(z, { temperature: 1, topK: 9, topP: 1.5 }, 0.05);
    expect(d.threshold).toBe(-Infinity);
    expect(d.id).toBe(0);
    expect(d.marginP).toBe(Infinity);
  });
});
