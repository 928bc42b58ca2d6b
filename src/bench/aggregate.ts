// Aggregating repeated runs: the median and spread (min, q1, q3, max, n) of each figure, the repetition that
// represents a run (the one whose decode speed is nearest the median), and the ETA of a suite from measured
// time per unit of work. Pure functions on numbers; tests/unit/aggregate.test.ts checks them by hand.
//
// Quantiles interpolate linearly between order statistics (numpy's default, "type 7"): for sorted x[0..n-1],
// q(p) = x[h] + (h − ⌊h⌋)(x[⌊h⌋+1] − x[⌊h⌋]) with h = (n−1)p. So the median of an even count is the mean of
// the middle two, q1/q3 of [1,2,3,4] are 1.75/3.25, and n = 1 gives min = q1 = median = q3 = max.
// Non-finite values (a run with no decode steps reports Infinity tok/s) are left out; none left ⇒ null.

import type { RunMetrics } from '../engine/types';
import { SCALAR_METRICS, type RunSpread, type ScalarMetric, type SpreadEntry } from './schema';

/** Linear-interpolation quantile of ascending-sorted `sorted` at p ∈ [0, 1]. */
export function quantileSorted(sorted: readonly number[], p: number): number {
  if (!sorted.length) return NaN;
  const h = (sorted.length - 1) * Math.min(1, Math.max(0, p));
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

export interface Summary {
  median: number;
  spread: SpreadEntry;
}

/** Median and spread of the finite values of `xs`; null when there are none. */
export function summarize(xs: readonly number[]): Summary | null {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  return {
    median: quantileSorted(s, 0.5),
    spread: { min: s[0]!, q1: quantileSorted(s, 0.25), q3: quantileSorted(s, 0.75), max: s[s.length - 1]!, n: s.length },
  };
}

export function median(xs: readonly number[]): number {
  return summarize(xs)?.median ?? NaN;
}

/** The scalar figures of one repetition (RunMetrics names them as the session format does). */
export type Figures = Partial<Record<ScalarMetric, number | null>>;

export function figuresOf(m: RunMetrics): Figures {
  return Object.fromEntries(SCALAR_METRICS.map((k) => [k, m[k]])) as Figures;
}

export interface Aggregate {
  /** Median of each scalar figure (null when no repetition measured it). */
  medians: Record<ScalarMetric, number | null>;
  /** Spread of each figure measured at least once; every value is ≥ 0, as the session format requires. */
  spread: RunSpread;
  /** Index of the repetition whose decode_tok_s is nearest the median (first on ties): its ids, times and
   *  memory figures stand for the run. */
  representative: number;
}

/** Median and spread per figure over repetitions. `reps` must not be empty. */
export function aggregate(reps: readonly Figures[]): Aggregate {
  if (!reps.length) throw new RangeError('aggregate: no repetitions');
  const medians = {} as Record<ScalarMetric, number | null>;
  const spread: RunSpread = {};
  for (const k of SCALAR_METRICS) {
    const s = summarize(reps.map((r) => r[k] ?? NaN).filter((x) => x >= 0));
    medians[k] = s ? s.median : null;
    if (s) spread[k] = s.spread;
  }
  const mid = medians.decode_tok_s;
  let representative = 0;
  if (mid !== null) {
    let best = Infinity;
    reps.forEach((r, i) => {
      const d = Math.abs((r.decode_tok_s ?? Infinity) - mid);
      if (d < best) [best, representative] = [d, i];
    });
  }
  return { medians, spread, representative };
}

/**
 * ETA of remaining work from measured time per unit of work, per kind (e.g. 'lab', 'ort-webgpu', 'quality'):
 * remaining units of a kind × that kind's measured ms per unit; a kind not measured yet uses the mean rate over
 * everything measured so far; nothing measured ⇒ NaN (unknown).
 */
export class Eta {
  private readonly ms = new Map<string, number>();
  private readonly units = new Map<string, number>();

  record(kind: string, units: number, ms: number): void {
    if (!(units > 0) || !(ms >= 0)) return;
    this.units.set(kind, (this.units.get(kind) ?? 0) + units);
    this.ms.set(kind, (this.ms.get(kind) ?? 0) + ms);
  }

  /** Measured ms per unit for `kind` (or over all kinds), NaN when unmeasured. */
  rate(kind?: string): number {
    if (kind !== undefined && this.units.has(kind)) return this.ms.get(kind)! / this.units.get(kind)!;
    let u = 0;
    let t = 0;
    for (const [k, n] of this.units) [u, t] = [u + n, t + this.ms.get(k)!];
    return u > 0 ? t / u : NaN;
  }

  /** Estimated ms for `remaining` (kind → units). */
  estimate(remaining: Iterable<readonly [string, number]>): number {
    let total = 0;
    for (const [kind, units] of remaining) if (units > 0) total += units * this.rate(kind);
    return total;
  }
}
