// Hand-checked cases and identities for src/ref/softmax.ts.
import { describe, expect, it } from 'vitest';
import { softmax } from '../../src/ref/softmax';

describe('ref softmax', () => {
  it('softmax(0, ln 2, ln 3) = (1, 2, 3) / 6, row by row', () => {
    const y = softmax([0, Math.log(2), Math.log(3), 5, 5, 5], 2, 3);
    const want = [1 / 6, 2 / 6, 3 / 6, 1 / 3, 1 / 3, 1 / 3];
    want.forEach((w, i) => expect(y[i]).toBeCloseTo(w, 15));
  });
  it('rows sum to 1 and are shift invariant; huge logits do not overflow', () => {
    const x = [0.1, -3, 2.2, 7, -0.4, 1, 1, 1.5];
    const y = softmax(x, 2, 4);
    for (let r = 0; r < 2; r++) expect(y[r * 4]! + y[r * 4 + 1]! + y[r * 4 + 2]! + y[r * 4 + 3]!).toBeCloseTo(1, 15);
    const shifted = softmax(x.map((v) => v + 1000), 2, 4);
    shifted.forEach((v, i) => expect(v).toBeCloseTo(y[i]!, 12));
    expect(Array.from(softmax([1000, 1000], 1, 2))).toEqual([0.5, 0.5]);
  });
});
