// Comparing two generations token by token: which positions differ and where they first diverge.

import type { TechniqueSettings } from '../../engine/types';

/** Dense f32 with nothing that changes the weights (early exit / speculative change compute, not weights). */
export function isDenseSettings(s: TechniqueSettings): boolean {
  return s.quant.precision === 'f32' && (s.quant.lmHead ?? 'f32') === 'f32' && s.prune.kind === 'none';
}

export interface TokenDiff {
  /** Per position of the longer output: whether the two differ there (a missing token differs). */
  differs: boolean[];
  /** First differing position, or -1 when the outputs are identical. */
  firstDivergence: number;
  /** Positions that differ. */
  count: number;
}

export function diffTokens(a: readonly number[], b: readonly number[]): TokenDiff {
  const n = Math.max(a.length, b.length);
  const differs: boolean[] = [];
  let first = -1;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const d = i >= a.length || i >= b.length || a[i] !== b[i];
    differs.push(d);
    if (d) {
      count++;
      if (first < 0) first = i;
    }
  }
  return { differs, firstDivergence: first, count };
}
