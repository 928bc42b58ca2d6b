// Hand-checked values and identities for src/ref/activation.ts.
import { describe, expect, it } from 'vitest';
import { add, gelu, silu, swiglu } from '../../src/ref/activation';

describe('ref activations', () => {
  it('silu: known values and limits', () => {
    const [a, b, c, d] = silu([0, 1, 40, -40]);
    expect(a).toBe(0);
    expect(b).toBeCloseTo(1 / (1 + Math.exp(-1)), 15); // 0.7310585786300049
    expect(b).toBeCloseTo(0.7310585786300049, 15);
    expect(c).toBeCloseTo(40, 12);
    expect(Math.abs(d!)).toBeLessThan(1e-15);
  });
  it('swiglu is silu(gate) · up', () => {
    expect(Array.from(swiglu([1, 0, 2], [2, 5, -1]))).toEqual([2 * silu([1])[0]!, 0, -silu([2])[0]!]);
    expect(() => swiglu([1], [1, 2])).toThrow(/lengths/);
  });
  it('gelu (tanh approximation): known values, gelu(x) − gelu(−x) = x, limits', () => {
    const [z, one, big, neg] = gelu([0, 1, 30, -30]);
    expect(z).toBe(0);
    expect(one).toBeCloseTo(0.8411919906082768, 14); // torch gelu(1., approximate='tanh')
    expect(big).toBe(30);
    expect(Math.abs(neg!)).toBeLessThan(1e-15);
    for (const x of [0.3, 1.7, -2.5, 4]) expect(gelu([x])[0]! - gelu([-x])[0]!).toBeCloseTo(x, 14);
  });
  it('add', () => {
    expect(Array.from(add([1, 2.5], [-1, 0.5]))).toEqual([0, 3]);
    expect(() => add([1], [])).toThrow(/lengths/);
  });
});
