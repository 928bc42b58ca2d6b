// Hand-checked cases for src/ref/confidence.ts (early exit's confidence: max softmax probability, entropy).
import { describe, expect, it } from 'vitest';
import { confidence } from '../../src/ref/confidence';

describe('ref confidence', () => {
  it('uniform logits: maxProb 1/n, entropy ln n, argmax the first index', () => {
    const c = confidence([2, 2, 2, 2, 2]);
    expect(c.argmax).toBe(0);
    expect(c.maxProb).toBeCloseTo(1 / 5, 15);
    expect(c.entropy).toBeCloseTo(Math.log(5), 14);
  });
  it('logits ln(1, 2, 3, 4): p = (1, 2, 3, 4)/10', () => {
    const c = confidence([0, Math.log(2), Math.log(3), Math.log(4)]);
    const p = [0.1, 0.2, 0.3, 0.4];
    expect(c.argmax).toBe(3);
    expect(c.maxProb).toBeCloseTo(0.4, 15);
    expect(c.entropy).toBeCloseTo(-p.reduce((s, v) => s + v * Math.log(v), 0), 14);
  });
  it('one dominant logit: maxProb → 1, entropy → 0; shift invariant; ties pick the first', () => {
    const c = confidence([-5, 40, 0]);
    expect(c.maxProb).toBeGreaterThan(1 - 1e-17 - 1e-15);
    expect(c.entropy).toBeGreaterThanOrEqual(0);
    expect(c.entropy).toBeLessThan(1e-15);
    const a = confidence([0.3, -1, 2.5, 2.5]);
    const b = confidence([1000.3, 999, 1002.5, 1002.5]);
    expect(a.argmax).toBe(2);
    expect(b.argmax).toBe(2);
    expect(b.maxProb).toBeCloseTo(a.maxProb, 12);
    expect(b.entropy).toBeCloseTo(a.entropy, 11);
    expect(confidence([7]).entropy).toBe(0);
  });
});
