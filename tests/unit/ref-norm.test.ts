// Hand-checked cases and identities for src/ref/norm.ts.
import { describe, expect, it } from 'vitest';
import { layernorm, rmsnorm } from '../../src/ref/norm';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-12) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < b.length; i++) expect(Math.abs(a[i]! - b[i]!), `index ${i}: ${a[i]} vs ${b[i]}`).toBeLessThanOrEqual(tol);
};

describe('ref rmsnorm', () => {
  it('matches a hand computation: x = (3, 4), w = (1, 2)', () => {
    const r = Math.sqrt(12.5); // mean(9, 16)
    close(rmsnorm([3, 4], [1, 2], 1, 2, 0), [3 / r, 8 / r]);
  });
  it('of a constant row is w · sign(c) (eps = 0)', () => {
    const w = [0.5, -2, 3];
    close(rmsnorm([-7, -7, -7, 2.5, 2.5, 2.5], w, 2, 3, 0), [-0.5, 2, -3, 0.5, -2, 3]);
  });
  it('is scale invariant, row by row, and eps damps small rows', () => {
    const x = [1, -2, 3, 0.5, 4, -1];
    const w = [1, 1, 1];
    close(rmsnorm(x.map((v) => v * 1000), w, 2, 3, 0), rmsnorm(x, w, 2, 3, 0));
    // mean(x²) = 1e-6 and eps = 1e-6 → divide by sqrt(2e-6) instead of 1e-3.
    close(rmsnorm([1e-3, -1e-3], [1, 1], 1, 2, 1e-6), [1e-3 / Math.sqrt(2e-6), -1e-3 / Math.sqrt(2e-6)]);
  });
});

describe('ref layernorm', () => {
  it('matches a hand computation: x = (1, 2, 3)', () => {
    const s = Math.sqrt(2 / 3); // biased variance of (1, 2, 3)
    close(layernorm([1, 2, 3], [1, 1, 1], [0, 0, 0], 1, 3, 0), [-1 / s, 0, 1 / s]);
    close(layernorm([1, 2, 3], [2, 3, 4], [1, 1, 1], 1, 3, 0), [1 - 2 / s, 1, 1 + 4 / s]);
  });
  it('is shift and scale invariant; output has mean 0 and variance 1 before w, b', () => {
    const x = [0.3, -1.2, 2.2, 5, 0.1];
    const one = [1, 1, 1, 1, 1];
    const zero = [0, 0, 0, 0, 0];
    const y = layernorm(x, one, zero, 1, 5, 0);
    close(layernorm(x.map((v) => 3 * v + 1e4), one, zero, 1, 5, 0), y, 1e-9);
    const mean = y.reduce((a, b) => a + b, 0) / 5;
    const v = y.reduce((a, b) => a + (b - mean) ** 2, 0) / 5;
    expect(Math.abs(mean)).toBeLessThan(1e-12);
    expect(Math.abs(v - 1)).toBeLessThan(1e-12);
  });
});
