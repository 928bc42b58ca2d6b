// Hand-checked cases for src/ref/embedding.ts.
import { describe, expect, it } from 'vitest';
import { embed } from '../../src/ref/embedding';

describe('ref embed', () => {
  const table = [1, 2, 3, 4, 5, 6]; // (vocab 3, dim 2)
  it('gathers rows by id, repeats allowed', () => {
    expect(Array.from(embed(table, [2, 0, 2, 1], 2))).toEqual([5, 6, 1, 2, 5, 6, 3, 4]);
  });
  it('gives zeros for ids outside the vocabulary', () => {
    expect(Array.from(embed(table, [3, 1, 1000, -1], 2))).toEqual([0, 0, 3, 4, 0, 0, 0, 0]);
  });
  it('handles no tokens', () => {
    expect(embed(table, [], 2).length).toBe(0);
  });
});
