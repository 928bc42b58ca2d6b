// Median, quartiles and spread over repetitions, and the suite ETA, checked against hand-computed values.
import { describe, expect, it } from 'vitest';
import { aggregate, Eta, median, quantileSorted, summarize } from '../../src/bench/aggregate';
import { outputAgreement } from '../../src/bench/run-suite';

describe('quantiles (linear interpolation, numpy type 7)', () => {
  it('matches hand values', () => {
    // h = (n−1)p: [1,2,3,4] at 0.25 → h = 0.75 → 1 + 0.75·1 = 1.75; at 0.75 → h = 2.25 → 3.25
    expect(quantileSorted([1, 2, 3, 4], 0.25)).toBeCloseTo(1.75, 12);
    expect(quantileSorted([1, 2, 3, 4], 0.75)).toBeCloseTo(3.25, 12);
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([10, 20, 40], 0.5)).toBe(20);
    expect(quantileSorted([10, 20, 40], 0.25)).toBe(15); // h = 0.5
    expect(quantileSorted([10, 20, 40], 0.75)).toBe(30); // h = 1.5
    expect(quantileSorted([7], 0.3)).toBe(7);
    expect(quantileSorted([], 0.5)).toBeNaN();
  });

  it('summarize sorts, drops non-finite values and reports n', () => {
    expect(summarize([4, Infinity, 1, NaN, 3, 2])).toEqual({ median: 2.5, spread: { min: 1, q1: 1.75, q3: 3.25, max: 4, n: 4 } });
    expect(summarize([5])).toEqual({ median: 5, spread: { min: 5, q1: 5, q3: 5, max: 5, n: 1 } });
    expect(summarize([NaN, Infinity])).toBeNull();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([])).toBeNaN();
  });
});

describe('aggregate', () => {
  it('gives per-figure medians and spreads, and the repetition nearest the median speed', () => {
    const a = aggregate([
      { decode_tok_s: 10, ms_per_token_p50: 100, ttft_ms: 30, bytes_per_token: 2e7 },
      { decode_tok_s: 30, ms_per_token_p50: 33, ttft_ms: 10, bytes_per_token: 2e7 },
      { decode_tok_s: 21, ms_per_token_p50: 47, ttft_ms: 20, bytes_per_token: 2e7 },
      { decode_tok_s: 18, ms_per_token_p50: 55, ttft_ms: 40, bytes_per_token: 2e7 },
    ]);
    expect(a.medians.decode_tok_s).toBe(19.5); // (18 + 21) / 2
    expect(a.spread.decode_tok_s).toEqual({ min: 10, q1: 16, q3: 23.25, max: 30, n: 4 }); // 10,18,21,30: h=.75 → 16; h=2.25 → 23.25
    expect(a.medians.ms_per_token_p50).toBe(51);
    expect(a.medians.ttft_ms).toBe(25);
    expect(a.spread.bytes_per_token).toEqual({ min: 2e7, q1: 2e7, q3: 2e7, max: 2e7, n: 4 });
    expect(a.representative).toBe(2); // |21 − 19.5| = |18 − 19.5| = 1.5: the first in input order
    // figures nobody measured: null median, no spread entry
    expect(a.medians.roofline_fraction).toBeNull();
    expect(a.spread.roofline_fraction).toBeUndefined();
  });

  it('leaves out negative and non-finite values (the format wants spreads >= 0)', () => {
    const a = aggregate([{ decode_tok_s: Infinity, achieved_gbps: -1 }, { decode_tok_s: 4, achieved_gbps: 2 }]);
    expect(a.medians.decode_tok_s).toBe(4);
    expect(a.spread.achieved_gbps).toEqual({ min: 2, q1: 2, q3: 2, max: 2, n: 1 });
    expect(a.representative).toBe(1);
    expect(() => aggregate([])).toThrow(RangeError);
  });
});

describe('Eta', () => {
  it('uses the measured rate of each kind, else the mean rate', () => {
    const e = new Eta();
    expect(e.estimate([['lab', 10]])).toBeNaN();
    e.record('lab', 32, 640); // 20 ms/unit
    e.record('lab', 32, 320); // now 960/64 = 15 ms/unit
    e.record('quality', 100, 500); // 5 ms/unit
    expect(e.rate('lab')).toBe(15);
    expect(e.rate('quality')).toBe(5);
    expect(e.rate('ort-wasm')).toBeCloseTo(1460 / 164, 12); // unmeasured: all time ÷ all units
    expect(e.estimate([['lab', 10], ['quality', 4], ['ort-wasm', 0]])).toBe(170);
    e.record('lab', 0, 99); // ignored
    expect(e.rate('lab')).toBe(15);
  });
});

describe('outputAgreement', () => {
  it('counts index-wise matches over the longer length and finds the first divergence', () => {
    expect(outputAgreement([1, 2, 3, 4], [1, 2, 3, 4])).toEqual({ reference: 'lab dense', match: 1, first_divergence: null });
    expect(outputAgreement([1, 2, 9, 4], [1, 2, 3, 4])).toEqual({ reference: 'lab dense', match: 0.75, first_divergence: 2 });
    expect(outputAgreement([1, 2], [1, 2, 3, 4])).toEqual({ reference: 'lab dense', match: 0.5, first_divergence: 2 });
    expect(outputAgreement([], [])).toMatchObject({ match: 1, first_divergence: null });
  });
});
