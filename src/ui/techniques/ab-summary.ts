// The A/B of a dynamic technique against the target alone (./ab.ts runs it): pure bookkeeping, unit-tested.
//   settings: "technique" = the settings in effect (early exit or speculative decoding on); "target" = the same
//   settings with both turned off (same weights: only the decoding loop differs).
//   schedule: `repeats` rounds, alternating, the order flipped every round (T,X | X,T | T,X …) so slow drift of
//   a shared machine lands on both sides; same prompt, sampling and seed for every run.
//   figures: the median decode tok/s of each side and their ratio (speed-up = technique ÷ target); the median
//   ms/token p50 ratio too (target ÷ technique, the per-token latency view); output agreement of each technique
//   run with the target's first run (matching ids at the same index ÷ the longer length), its mean, and
//   `identical` when every technique run equals the target's ids exactly (what greedy speculative decoding
//   must give; early exit reports agreement).

export type AbSide = 'target' | 'technique';

export interface AbRun {
  side: AbSide;
  decodeTokS: number;
  msP50: number;
  ids: number[];
}

export interface AbSummary {
  repeats: number;
  target: { decodeTokS: number; msP50: number };
  technique: { decodeTokS: number; msP50: number };
  /** Median decode tok/s, technique ÷ target. */
  speedup: number;
  /** Median ms/token p50, target ÷ technique. */
  p50Speedup: number;
  /** Mean over technique runs of their agreement with the target's ids. */
  agreement: number;
  identical: boolean;
}

/** The run order: round r is [target, technique] for even r, [technique, target] for odd r. */
export function abSchedule(repeats: number): AbSide[] {
  if (!(Number.isInteger(repeats) && repeats >= 1)) throw new Error(`A/B: repeats ${repeats} must be an integer >= 1`);
  const out: AbSide[] = [];
  for (let r = 0; r < repeats; r++) out.push(...((r % 2 ? ['technique', 'target'] : ['target', 'technique']) as AbSide[]));
  return out;
}

export function median(xs: readonly number[]): number {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Index-wise agreement: equal ids at the same index ÷ the longer length (1 for two empty lists). */
export function idAgreement(ids: readonly number[], ref: readonly number[]): number {
  const n = Math.max(ids.length, ref.length);
  if (n === 0) return 1;
  let same = 0;
  for (let i = 0; i < n; i++) if (ids[i] === ref[i]) same++;
  return same / n;
}

export function summarizeAb(runs: readonly AbRun[]): AbSummary {
  const t = runs.filter((r) => r.side === 'target');
  const x = runs.filter((r) => r.side === 'technique');
  if (!t.length || !x.length) throw new Error(`A/B: needs runs of both sides (target ${t.length}, technique ${x.length})`);
  const side = (rs: AbRun[]) => ({ decodeTokS: median(rs.map((r) => r.decodeTokS)), msP50: median(rs.map((r) => r.msP50)) });
  const target = side(t);
  const technique = side(x);
  const ref = t[0]!.ids;
  const agree = x.map((r) => idAgreement(r.ids, ref));
  return {
    repeats: Math.min(t.length, x.length),
    target,
    technique,
    speedup: technique.decodeTokS / target.decodeTokS,
    p50Speedup: target.msP50 / technique.msP50,
    agreement: agree.reduce((a, b) => a + b, 0) / agree.length,
    identical: agree.every((a) => a === 1),
  };
}
