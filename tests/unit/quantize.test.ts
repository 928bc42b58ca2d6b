// src/techniques/quantize.ts: exact packing layout (hand-built words), scales and zero-points on hand-checked
// groups, round-trip error within each format's bound on random odd shapes, and edge groups (constant, tiny,
// huge, negative-only, all-zero, subnormal) that must never give NaN/Inf.
import { describe, expect, it } from 'vitest';
import { randn } from '../../src/ref/random';
import {
  bitsPerWeight, dequantize, GROUP_SIZES, maxRoundTripError, quantAt, quantize, type QuantFormat, roundHalfAway,
} from '../../src/techniques/quantize';

const FORMATS: readonly QuantFormat[] = ['q8', 'q4', 'q4z'];
const f32 = (xs: number[]) => new Float32Array(xs);
const hex = (w: Uint32Array) => Array.from(w, (v) => '0x' + v.toString(16).padStart(8, '0'));

describe('packing layout (hand-built words)', () => {
  it('q8: element 4j+i in byte i of word j, two rows each starting on a word', () => {
    // scale 127/127 = 1 in both rows, so q = w
    const W = f32([127, -127, 1, -1, 2, 0, /* row 1 */ 5, 6, 7, 8, 9, 127]);
    const p = quantize(W, 2, 6, 'q8', 8);
    expect(p.wordsPerRow).toBe(2);
    expect(Array.from(p.scales)).toEqual([1, 1]);
    expect(p.zeros).toBeNull();
    // bytes of word 0: 0x7f (127), 0x81 (-127), 0x01, 0xff (-1)
    expect(hex(p.words)).toEqual(['0xff01817f', '0x00000002', '0x08070605', '0x00007f09']);
    expect(Array.from(dequantize(p))).toEqual(Array.from(W));
  });

  it('q4: element 8j+i in bits 4i..4i+3, stored q+8; a short last group', () => {
    // group 0 (8 cols): max 7 -> scale 1; group 1 (1 col): 5 -> scale 5/7, q = 7
    const W = f32([7, -7, 1, -1, 0, 3, 2, -2, 5]);
    const p = quantize(W, 1, 9, 'q4', 8);
    expect(p.wordsPerRow).toBe(2);
    // nibbles (low first): 15, 1, 9, 7, 8, 11, 10, 6
    expect(hex(p.words)).toEqual(['0x6ab8791f', '0x0000000f']);
    expect(p.scales[0]).toBe(1);
    expect(p.scales[1]).toBe(Math.fround(5 / 7));
    const d = dequantize(p);
    expect(Array.from(d.subarray(0, 8))).toEqual([7, -7, 1, -1, 0, 3, 2, -2]);
    expect(d[8]).toBe(Math.fround(7 * Math.fround(5 / 7)));
  });

  it('q4z: nibble = q, zero-point per group (positive-only z=0, negative-only z=15, symmetric z=8)', () => {
    const W = f32([
      0, 15, 3, 4, 5, 6, 7, 8, // lo 0, hi 15: s 1, z 0
      -15, -5, 0, -1, -2, -3, -4, -6, // lo -15, hi 0: s 1, z 15
      -7.5, 7.5, 0, 0, 0, 0, 0, 0, // s 1, z round(7.5) = 8 (half away from zero)
    ]);
    const p = quantize(W, 1, 24, 'q4z', 8);
    expect(Array.from(p.scales)).toEqual([1, 1, 1]);
    expect(Array.from(p.zeros!)).toEqual([0, 15, 8]);
    expect(p.words[0]).toBe(0x876543f0); // nibbles (low first): 0, 15, 3, 4, 5, 6, 7, 8
    // group 1: q = w + 15 = 0, 10, 15, 14, 13, 12, 11, 9
    expect(hex(p.words.subarray(1, 2))).toEqual(['0x9bcdefa0']);
    // group 2: q = round(w) + 8 = round(-7.5)+8 = 0, round(7.5)+8 = 16 -> clamped to 15, then 8 ×6
    expect(hex(p.words.subarray(2, 3))).toEqual(['0x888888f0']);
    const d = dequantize(p);
    expect(Array.from(d.subarray(0, 16))).toEqual(Array.from(W.subarray(0, 16)));
    expect(d[16]).toBe(-8);
    expect(d[17]).toBe(7); // clamped: within s/2 + |z − 7.5|·s = 1
  });

  it('quantAt reads back every stored integer', () => {
    const W = randn(3 * 21, 5);
    for (const fmt of FORMATS) {
      const p = quantize(W, 3, 21, fmt, 8);
      for (let r = 0; r < 3; r++) {
        for (let c = 0; c < 21; c++) {
          const g = r * 3 + Math.floor(c / 8);
          const z = p.zeros ? p.zeros[g]! : 0;
          expect(Math.fround((quantAt(p, r, c) - z) * p.scales[g]!)).toBe(dequantize(p)[r * 21 + c]);
        }
      }
    }
  });

  it('padding bits are zero and rejects bad group sizes / non-finite weights', () => {
    const p = quantize(randn(2 * 9, 1), 2, 9, 'q8', 8);
    expect(p.words[2]! >>> 8).toBe(0); // row 0's third word holds element 8 only
    expect(() => quantize(randn(8, 1), 1, 8, 'q4', 12)).toThrow(/multiple of 8/);
    expect(() => quantize(randn(8, 1), 1, 8, 'q4', 0)).toThrow(/multiple of 8/);
    expect(() => quantize(f32([1, Number.NaN, 0, 0, 0, 0, 0, 0]), 1, 8, 'q8', 8)).toThrow(/not finite/);
    expect(() => quantize(f32([1, 3e38, 0, 0, 0, 0, 0, 0]), 1, 8, 'q4z', 8)).toThrow(/2\^126/);
  });

  it('roundHalfAway and bitsPerWeight', () => {
    expect([2.5, -2.5, 0.5, -0.5, 1.4].map(roundHalfAway)).toEqual([3, -3, 1, -1, 1]);
    expect(bitsPerWeight('q8', 32)).toBe(9);
    expect(bitsPerWeight('q4', 32)).toBe(5);
    expect(bitsPerWeight('q4z', 64)).toBe(5);
  });
});

describe('round trip within the format bound (random odd shapes)', () => {
  for (const fmt of FORMATS) {
    for (const gs of GROUP_SIZES) {
      for (const [rows, cols] of [[3, 37], [5, 100], [7, 131], [4, 256]] as const) {
        it(`${fmt} g${gs} (${rows}, ${cols})`, () => {
          const W = randn(rows * cols, rows * 1000 + cols + gs, 0.7);
          const p = quantize(W, rows, cols, fmt, gs);
          expect(p.scales.length).toBe(rows * Math.ceil(cols / gs));
          expect(p.words.length).toBe(rows * Math.ceil(cols / (fmt === 'q8' ? 4 : 8)));
          const { maxAbs, worstRatio } = maxRoundTripError(W, p);
          expect(worstRatio).toBeLessThanOrEqual(1);
          expect(maxAbs).toBeGreaterThan(0); // random weights are not representable exactly
          // the scale is as documented
          const g0 = Array.from(W.subarray(0, Math.min(gs, cols)));
          const amax = Math.max(...g0.map(Math.abs));
          if (fmt === 'q8') expect(p.scales[0]).toBe(Math.fround(amax / 127));
          if (fmt === 'q4') expect(p.scales[0]).toBe(Math.fround(amax / 7));
          if (fmt === 'q4z') expect(p.scales[0]).toBe(Math.fround((Math.max(0, ...g0) - Math.min(0, ...g0)) / 15));
        });
      }
    }
  }
});

describe('edge groups: no NaN/Inf, scales and zero-points right', () => {
  const G = 32;
  const groups: Record<string, number[]> = {
    constant: Array(G).fill(0.3),
    'negative constant': Array(G).fill(-2),
    tiny: Array.from({ length: G }, (_, i) => (i % 3 === 0 ? -1e-30 : 1e-30 * (i / G))),
    huge: Array.from({ length: G }, (_, i) => (i % 2 ? 1e30 : -3e29)),
    'near the limit (±8e37)': Array.from({ length: G }, (_, i) => (i % 2 ? 8e37 : -8e37)),
    'negative-only': Array.from({ length: G }, (_, i) => -1 - i),
    'all zero': Array(G).fill(0),
    subnormal: Array(G).fill(1e-40),
    outlier: Array.from({ length: G }, (_, i) => (i === 7 ? 50 : 0.01 * (i - 16))),
  };
  for (const [name, vals] of Object.entries(groups)) {
    for (const fmt of FORMATS) {
      it(`${name} ${fmt}`, () => {
        const W = f32([...vals, ...vals.slice(0, 9)]); // a full group and a short one
        const p = quantize(W, 1, W.length, fmt, G);
        const d = dequantize(p);
        expect(d.every(Number.isFinite)).toBe(true);
        expect(p.scales.every((s) => Number.isFinite(s) && s >= 0)).toBe(true);
        expect(maxRoundTripError(W, p).worstRatio).toBeLessThanOrEqual(1);
        const amax = Math.max(...Array.from(W, Math.abs));
        if (name === 'all zero' || name === 'subnormal') {
          expect(Array.from(p.scales)).toEqual([0, 0]);
          expect(d.every((v) => v === 0)).toBe(true);
        } else if (fmt === 'q8') {
          expect(p.scales[0]).toBe(Math.fround(amax / 127));
        } else if (fmt === 'q4') {
          expect(p.scales[0]).toBe(Math.fround(amax / 7));
        }
        if (name === 'constant') {
          // the constant is the group's max: stored exactly at the top code
          expect(quantAt(p, 0, 0)).toBe(fmt === 'q8' ? 127 : fmt === 'q4' ? 7 : 15);
          if (fmt === 'q4z') expect(p.zeros![0]).toBe(0);
          expect(Math.abs(d[0]! - 0.3)).toBeLessThan(1e-7);
        }
        if (name === 'negative-only' && fmt === 'q4z') expect(p.zeros![0]).toBe(15);
        if (name === 'negative constant') expect(Math.abs(d[5]! + 2)).toBeLessThan(1e-6);
      });
    }
  }
});
