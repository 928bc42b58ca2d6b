// Hand-checked cases for the attention reference (src/ref/attention.ts), the spec the GPU kernel is tested against.
import { describe, expect, it } from 'vitest';
import { attention } from '../../src/ref/attention';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-12) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < b.length; i++) expect(Math.abs(a[i]! - b[i]!), `index ${i}`).toBeLessThan(tol);
};

describe('ref attention', () => {
  it('one position returns its v, for every query head', () => {
    const q = [0.3, -1, 2, 5, 0.1, -0.7]; // 2 heads × headDim 3
    const k = [0.9, 0.2, -0.4];
    const v = [1.5, -2, 0.25];
    close(attention(q, k, v, 1, 0, 2, 1, 3), [1.5, -2, 0.25, 1.5, -2, 0.25]);
  });

  it('equal scores average v over the causal window (prefill after a prefix)', () => {
    // 4 cache rows, all keys equal ⇒ uniform weights; token t (position 1 + t) averages rows 0..1+t.
    const k = [1, 2, 1, 2, 1, 2, 1, 2];
    const v = [1, 10, 2, 20, 3, 30, 4, 40];
    const q = [0.5, -1, 3, 0.25, -2, 7]; // n = 3 tokens, 1 head, headDim 2
    close(attention(q, k, v, 3, 1, 1, 1, 2), [1.5, 15, 2, 20, 2.5, 25]);
  });

  it('two positions: softmax of scaled dot products, by hand', () => {
    // headDim 4 ⇒ scale 1/2. s0 = 2·1/2 = 1, s1 = 2·3/2 = 3.
    const q = [2, 0.5, 0, 0];
    const k = [1, 0, 0, 0, 3, 0, 0, 0];
    const v = [1, 2, 3, 4, 5, 6, 7, 8];
    const w0 = Math.exp(1) / (Math.exp(1) + Math.exp(3));
    const w1 = 1 - w0;
    close(attention(q, k, v, 1, 1, 1, 1, 4), [1, 2, 3, 4].map((x, i) => w0 * x + w1 * (i + 5)));
  });

  it('grouped-query heads read kv head floor(h / (nHeads / nKvHeads))', () => {
    // 4 query heads, 2 kv heads, headDim 1, one position: heads 0, 1 → kv head 0; heads 2, 3 → kv head 1.
    const out = attention([1, 2, 3, 4], [0.5, -0.5], [7, -9], 1, 0, 4, 2, 1);
    close(out, [7, 7, -9, -9]);
  });

  it('is causal: rows after pos0 + t do not change token t', () => {
    const q = [0.2, -0.4, 1.1, 0.3];
    const k = [0.1, 0.7, -0.3, 0.9, 1.2, -1.1];
    const v = [1, 2, 3, 4, 5, 6];
    const a = attention(q, k, v, 2, 1, 1, 1, 2);
    const k2 = [...k.slice(0, 4), 50, 60];
    const v2 = [...v.slice(0, 4), -70, 80];
    const b = attention(q, k2, v2, 2, 1, 1, 1, 2);
    close(b.subarray(0, 2), a.subarray(0, 2)); // token 0 sees rows 0..1 only
    expect(Math.abs(b[2]! - a[2]!)).toBeGreaterThan(1); // token 1 sees row 2
  });

  it('stays finite for huge scores, and rejects bad head counts', () => {
    const out = attention([1e4, 1e4], [1e4, 1e4, -1e4, -1e4], [1, 2, 3, 4], 1, 1, 1, 1, 2);
    close(out, [1, 2]);
    expect(() => attention([1, 2, 3], [1], [1], 1, 0, 3, 2, 1)).toThrow(/multiple/);
  });
});
