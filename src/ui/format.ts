// Number formatting and the live (UI-side) metrics computed from streamed token times. The engine's RunMetrics
// replace the live ones when a run finishes.

import type { RunMetrics } from '../engine/types';

export function fmtBytes(n: number | undefined | null): string {
  if (n == null || !Number.isFinite(n)) return '–';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** A number with ~3 significant digits; '–' for missing/NaN. */
export function fmtNum(n: number | undefined | null, digits = 3): string {
  if (n == null || !Number.isFinite(n)) return '–';
  if (n === 0) return '0';
  const a = Math.abs(n);
  if (a >= 10 ** digits) return Math.round(n).toLocaleString('en-US');
  return Number(n.toPrecision(digits)).toString();
}

export function fmtCount(n: number | undefined | null): string {
  if (n == null || !Number.isFinite(n)) return '–';
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

/** Linear-interpolated percentile (q in [0, 1]) of unsorted values; NaN when empty. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/** Per decoded token latency (ms) from streamed token times: the gaps after the first token. */
export function tokenGaps(times: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < times.length; i++) out.push(times[i]! - times[i - 1]!);
  return out;
}

export type ShownMetrics = Pick<RunMetrics, 'ttft_ms' | 'prefill_tok_s' | 'decode_tok_s' | 'ms_per_token_p50' | 'ms_per_token_p95'> & {
  generatedTokens: number;
  final: boolean;
};

/** Metrics to show: the engine's when the run is done, else estimated from the stream so far. */
export function shownMetrics(times: readonly number[], promptTokens: number, final: RunMetrics | null): ShownMetrics {
  if (final) return { ...final, final: true };
  const gaps = tokenGaps(times);
  const ttft = times.length ? times[0]! : NaN;
  const decodeMs = times.length > 1 ? times[times.length - 1]! - times[0]! : NaN;
  return {
    ttft_ms: ttft,
    prefill_tok_s: promptTokens > 0 && ttft > 0 ? (promptTokens / ttft) * 1000 : NaN,
    decode_tok_s: gaps.length && decodeMs > 0 ? (gaps.length / decodeMs) * 1000 : NaN,
    ms_per_token_p50: percentile(gaps, 0.5),
    ms_per_token_p95: percentile(gaps, 0.95),
    generatedTokens: times.length,
    final: false,
  };
}

/** "1, 2 3,4" → [1, 2, 3, 4]; throws on anything that is not a non-negative integer. */
export function parseIds(text: string): number[] {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  const ids = parts.map((p) => {
    if (!/^\d+$/.test(p)) throw new Error(`'${p}' is not a token id (expected non-negative integers separated by commas or spaces)`);
    return Number(p);
  });
  if (ids.length === 0) throw new Error('the prompt has no token ids');
  return ids;
}
