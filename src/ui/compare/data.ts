// The compare view's numbers, as pure functions of the picked runs: the metric rows of the table (with which
// direction is better), the per-token latency CDFs, and the speed-versus-quality points with their Pareto front.

import { GPU_BYTES_FIELDS, type Session, type SessionRun } from '../../bench/schema';
import { fmtBytes, fmtNum } from '../format';
import { techniqueKey, techniqueSummary } from '../sessions/describe';

/** A run picked for comparison, with where it came from and its colour in every chart. */
export interface Picked {
  key: string;
  session: Session;
  run: SessionRun;
  color: string;
  /** '#1 f32 · greedy': its place in the pick order, then its label. */
  name: string;
}

export const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777', '#4b5563', '#65a30d'];
export const pickKey = (sessionId: string, runId: string) => `${sessionId}::${runId}`;

export interface MetricRow {
  id: string;
  label: string;
  unit: string;
  /** Which way is better ('high' | 'low'); null: no direction (counts, context). */
  better: 'high' | 'low' | null;
  get: (r: SessionRun) => number | null | undefined;
  fmt?: (v: number) => string;
}

const gpu = (k: (typeof GPU_BYTES_FIELDS)[number]) => (r: SessionRun) => r.metrics.gpu_bytes?.[k];
const pct = (v: number) => `${fmtNum(100 * v)}%`;

export const METRIC_ROWS: MetricRow[] = [
  { id: 'decode_tok_s', label: 'decode', unit: 'tok/s', better: 'high', get: (r) => r.metrics.decode_tok_s },
  { id: 'prefill_tok_s', label: 'prefill', unit: 'tok/s', better: 'high', get: (r) => r.metrics.prefill_tok_s },
  { id: 'ttft_ms', label: 'time to first token', unit: 'ms', better: 'low', get: (r) => r.metrics.ttft_ms },
  { id: 'ms_per_token_p50', label: 'ms/token p50', unit: 'ms', better: 'low', get: (r) => r.metrics.ms_per_token_p50 },
  { id: 'ms_per_token_p95', label: 'ms/token p95', unit: 'ms', better: 'low', get: (r) => r.metrics.ms_per_token_p95 },
  { id: 'prompt_tokens', label: 'prompt tokens', unit: '', better: null, get: (r) => r.metrics.prompt_tokens },
  { id: 'generated_tokens', label: 'generated tokens', unit: '', better: null, get: (r) => r.metrics.generated_tokens },
  { id: 'bytes_per_token', label: 'bytes read / token', unit: '', better: 'low', get: (r) => r.metrics.bytes_per_token, fmt: fmtBytes },
  { id: 'achieved_gbps', label: 'achieved bandwidth', unit: 'GB/s', better: 'high', get: (r) => r.metrics.achieved_gbps },
  { id: 'roofline_fraction', label: 'of copy bandwidth', unit: '', better: 'high', get: (r) => r.metrics.roofline_fraction, fmt: pct },
  { id: 'copy_gbps', label: 'copy bandwidth', unit: 'GB/s', better: null, get: (r) => r.metrics.copy_gbps },
  { id: 'dispatches_per_token', label: 'dispatches / token', unit: '', better: 'low', get: (r) => r.metrics.dispatches_per_token },
  { id: 'gpu_weights', label: 'GPU memory: weights', unit: '', better: 'low', get: gpu('weights'), fmt: fmtBytes },
  { id: 'gpu_kv', label: 'GPU memory: KV cache', unit: '', better: 'low', get: gpu('kv'), fmt: fmtBytes },
  { id: 'gpu_activations', label: 'GPU memory: activations', unit: '', better: 'low', get: gpu('activations'), fmt: fmtBytes },
  { id: 'gpu_staging', label: 'GPU memory: staging', unit: '', better: 'low', get: gpu('staging'), fmt: fmtBytes },
  { id: 'gpu_uniforms', label: 'GPU memory: uniforms', unit: '', better: 'low', get: gpu('uniforms'), fmt: fmtBytes },
  { id: 'gpu_total', label: 'GPU memory: total', unit: '', better: 'low', get: (r) => gpuTotal(r), fmt: fmtBytes },
  { id: 'perplexity', label: 'perplexity', unit: '', better: 'low', get: (r) => r.quality?.perplexity },
  { id: 'top1_agreement', label: 'top-1 agreement', unit: '', better: 'high', get: (r) => r.quality?.top1_agreement, fmt: pct },
  { id: 'kl', label: 'KL vs reference', unit: 'nats', better: 'low', get: (r) => r.quality?.kl },
  { id: 'quality_tokens', label: 'quality tokens', unit: '', better: null, get: (r) => r.quality?.tokens },
];

export function gpuTotal(r: SessionRun): number | null {
  const b = r.metrics.gpu_bytes;
  return b ? GPU_BYTES_FIELDS.reduce((s, k) => s + b[k], 0) : null;
}

/** Indices of the best value in a row: only when at least two runs have it and not all are equal. */
export function bestOf(row: MetricRow, runs: SessionRun[]): Set<number> {
  if (!row.better) return new Set();
  const vals = runs.map((r) => row.get(r) ?? null);
  const have = vals.filter((v): v is number => v != null);
  if (have.length < 2 || have.every((v) => v === have[0])) return new Set();
  const target = row.better === 'high' ? Math.max(...have) : Math.min(...have);
  return new Set(vals.flatMap((v, i) => (v === target ? [i] : [])));
}

/** Per decoded token latency (ms): the gaps between successive token timestamps. */
export function latencyGaps(r: SessionRun): number[] {
  const t = r.token_times_ms;
  const out: number[] = [];
  for (let i = 1; i < t.length; i++) out.push(Math.max(0, t[i]! - t[i - 1]!));
  return out;
}

/** CDFs on one shared x axis (every gap of every run, sorted): y_i(x) = fraction of run i's gaps <= x, or
 *  null for a run with no gaps. Shaped for uPlot: [xs, ...ys]. */
export function cdfData(runs: SessionRun[]): [number[], ...(number | null)[][]] {
  const sorted = runs.map((r) => latencyGaps(r).sort((a, b) => a - b));
  const xs = [...new Set(sorted.flat())].sort((a, b) => a - b);
  const ys = sorted.map((g) => {
    if (g.length === 0) return xs.map(() => null);
    let j = 0;
    return xs.map((x) => {
      while (j < g.length && g[j]! <= x) j++;
      return j / g.length;
    });
  });
  return [xs, ...ys];
}

/** One configuration (engine + model + technique settings) on the speed-versus-quality plane. */
export interface SpeedQualityPoint {
  label: string;
  tokS: number;
  ppl: number;
  color: string;
  /** How many picked runs gave the speed and the quality figure (medians when several). */
  nSpeed: number;
  nQuality: number;
  front: boolean;
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Group the picked runs by configuration (sampling ignored: it changes neither speed much nor perplexity):
 *  decode speed from its Generate runs, perplexity from its quality runs (or the same run when it has both). */
export function speedQualityPoints(picked: Picked[]): SpeedQualityPoint[] {
  const groups = new Map<string, Picked[]>();
  for (const p of picked) {
    const k = techniqueKey(p.run);
    groups.set(k, [...(groups.get(k) ?? []), p]);
  }
  const models = new Set(picked.map((p) => p.run.model.name));
  const points: SpeedQualityPoint[] = [];
  for (const g of groups.values()) {
    const speeds = g.flatMap((p) => (p.run.metrics.decode_tok_s != null ? [p.run.metrics.decode_tok_s] : []));
    const ppls = g.flatMap((p) => (p.run.quality?.perplexity != null ? [p.run.quality.perplexity] : []));
    if (!speeds.length || !ppls.length) continue;
    const first = g.find((p) => p.run.metrics.decode_tok_s != null) ?? g[0]!;
    const r = first.run;
    const label = `${models.size > 1 ? `${r.model.name} ` : ''}${r.engine === 'lab' ? '' : `${r.engine} `}${techniqueSummary(r.config)}`;
    points.push({ label, tokS: median(speeds), ppl: median(ppls), color: first.color, nSpeed: speeds.length, nQuality: ppls.length, front: false });
  }
  return markParetoFront(points);
}

/** A point is on the front when no other point is at least as fast and at least as good (lower perplexity),
 *  and strictly better in one of the two. */
export function markParetoFront<P extends { tokS: number; ppl: number; front: boolean }>(points: P[]): P[] {
  for (const p of points) p.front = !points.some((q) => q !== p && q.tokS >= p.tokS && q.ppl <= p.ppl && (q.tokS > p.tokS || q.ppl < p.ppl));
  return points;
}
