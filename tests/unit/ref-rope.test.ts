// Hand-checked cases and identities for src/ref/rope.ts (HF rotate_half convention, Llama-3 frequency scaling).
import { describe, expect, it } from 'vitest';
import { rope, ropeInvFreq, type RopeScaling } from '../../src/ref/rope';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-12) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < b.length; i++) expect(Math.abs(a[i]! - b[i]!), `index ${i}: ${a[i]} vs ${b[i]}`).toBeLessThanOrEqual(tol);
};

describe('ref ropeInvFreq', () => {
  it('theta^(-2i/d)', () => {
    close(ropeInvFreq(4, 10000), [1, 0.01]);
    close(ropeInvFreq(8, 10000, 4), [1, 0.01]); // partial rotary: the exponent uses rotaryDim
    expect(() => ropeInvFreq(8, 10000, 3)).toThrow(/even/);
  });
  it('llama3 scaling: high frequencies untouched, low ones divided by factor, smooth in between', () => {
    const s: RopeScaling = { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
    const base = ropeInvFreq(128, 500000);
    const scaled = ropeInvFreq(128, 500000, 128, s);
    let high = 0, low = 0, mid = 0;
    for (let i = 0; i < 64; i++) {
      const wavelen = (2 * Math.PI) / base[i]!;
      if (wavelen < 8192 / 4) {
        expect(scaled[i]).toBe(base[i]);
        high++;
      } else if (wavelen > 8192) {
        expect(scaled[i]).toBeCloseTo(base[i]! / 8, 18);
        low++;
      } else {
        const sm = (8192 / wavelen - 1) / 3;
        expect(scaled[i]).toBeCloseTo((1 - sm) * (base[i]! / 8) + sm * base[i]!, 18);
        expect(scaled[i]!).toBeLessThanOrEqual(base[i]!);
        expect(scaled[i]!).toBeGreaterThanOrEqual(base[i]! / 8);
        mid++;
      }
      if (i > 0) expect(scaled[i]!).toBeLessThan(scaled[i - 1]!); // still strictly decreasing
    }
    expect([high > 0, low > 0, mid > 0]).toEqual([true, true, true]);
    expect(scaled[0]).toBe(1);
    close(ropeInvFreq(128, 500000, 128, { ...s, rope_type: 'default' }), base, 0);
    expect(() => ropeInvFreq(4, 1e4, 4, { ...s, rope_type: 'yarn' as 'llama3' })).toThrow(/yarn/);
  });
});

describe('ref rope', () => {
  it('rotates (x_i, x_{i+h}) pairs by p · inv_freq[i] (hand case)', () => {
    // one head, headDim 4: pairs (0, 2) at inv_freq 1 and (1, 3) at inv_freq 0.5; position 2 → angles 2 and 1
    const y = rope([1, 1, 0, 2], 1, 1, 4, 2, [1, 0.5]);
    close(y, [Math.cos(2), Math.cos(1) - 2 * Math.sin(1), Math.sin(2), 2 * Math.cos(1) + Math.sin(1)]);
  });
  it('is the identity at position 0, preserves pair norms, and leaves dims past rotaryDim alone', () => {
    const x = [0.3, -1, 2, 0.7, 5, -6, 1.5, 0.2, -0.9, 4, 3, -2]; // (n 1, 2 heads × headDim 6)
    const inv = ropeInvFreq(6, 10000, 4);
    close(rope(x, 1, 2, 6, 0, inv, 4), x, 0);
    const y = rope(x, 1, 2, 6, 37, inv, 4);
    for (const o of [0, 6]) {
      for (const i of [0, 1]) expect(Math.hypot(y[o + i]!, y[o + i + 2]!)).toBeCloseTo(Math.hypot(x[o + i]!, x[o + i + 2]!), 13);
      expect([y[o + 4], y[o + 5]]).toEqual([x[o + 4], x[o + 5]]);
    }
  });
  it('token t uses position pos0 + t; rotations compose; q·k depends only on the offset', () => {
    const inv = ropeInvFreq(4, 10000);
    const q = [0.5, -1, 2, 0.25];
    const k = [1.5, 0.3, -0.7, 2];
    const two = rope([...q, ...q], 2, 1, 4, 10, inv);
    close(two.slice(4), rope(q, 1, 1, 4, 11, inv));
    close(rope(rope(q, 1, 1, 4, 5, inv), 1, 1, 4, 7, inv), rope(q, 1, 1, 4, 12, inv));
    const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]! + a[3]! * b[3]!;
    const d1 = dot(rope(q, 1, 1, 4, 9, inv), rope(k, 1, 1, 4, 4, inv));
    const d2 = dot(rope(q, 1, 1, 4, 105, inv), rope(k, 1, 1, 4, 100, inv));
    expect(d1).toBeCloseTo(d2, 12);
  });
  it('f32Angles rounds the angle as the GPU does', () => {
    const p = 1999;
    const inv = Math.fround(0.7);
    const a32 = Math.fround(p * inv);
    close(rope([1, 0], 1, 1, 2, p, [inv], 2, true), [Math.cos(a32), Math.sin(a32)]);
  });
});
