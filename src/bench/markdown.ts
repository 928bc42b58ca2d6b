// A session as a Markdown table: one row per run (configuration × engine, and × prompt when a suite has
// several), in recording order. Pure; the bench CLI prints it and docs/BENCHMARKS.md quotes it.
//
// Columns (a missing figure is '—'):
//   config, engine, [prompt], decode_tok_s (median) and decode_iqr (q1–q3 over the repetitions, when measured),
//   ms_per_token_p50, ttft_ms, gpu_bytes (total GPU memory: weights + KV + activations + staging + uniforms),
//   bytes_per_token, achieved_gbps, roofline_fraction, bound, perplexity, top1_agreement, kl,
//   ids_match (config.output_agreement.match: output ids equal to the lab's dense run, run-suite.ts),
//   [avg_layers, accept_rate, tok_per_fwd: config.dynamic's early-exit / speculative statistics, shown only
//   when some run has them], speedup (decode speed-up over the first lab run with the same prompt, from the
//   median per-token latency: its ms_per_token_p50 ÷ this run's; decode_tok_s averages over every step, so one
//   stall of a busy machine moves it, while the median does not) and bytes_ratio (bytes_per_token ÷ that run's).

import type { Session, SessionRun } from './schema';

const DASH = '—';

export function fmtNum(x: number | null | undefined, digits = 2): string {
  if (typeof x !== 'number' || !Number.isFinite(x)) return DASH;
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e6 || a < 10 ** -digits)) return x.toExponential(2);
  return x.toFixed(digits);
}

/** Bytes in decimal units: 1 kB = 1000 B. */
export function fmtBytes(x: number | null | undefined): string {
  if (typeof x !== 'number' || !Number.isFinite(x)) return DASH;
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = x;
  let u = 0;
  while (Math.abs(v) >= 1000 && u < units.length - 1) [v, u] = [v / 1000, u + 1];
  return `${u === 0 ? v.toFixed(0) : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[u]}`;
}

const ratio = (a: number | null | undefined, b: number | null | undefined): string =>
  typeof a === 'number' && typeof b === 'number' && b > 0 && Number.isFinite(a) ? `${fmtNum(a / b)}×` : DASH;

const cell = (s: string) => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

function gpuTotal(r: SessionRun): number | null {
  const g = r.metrics.gpu_bytes;
  return g ? g.weights + g.kv + g.activations + g.staging + g.uniforms : null;
}

/** A number at a path inside run.config (e.g. ['output_agreement', 'match']), else null. */
function configNumber(r: SessionRun, path: readonly string[]): number | null {
  let v: unknown = r.config;
  for (const k of path) v = v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[k] : undefined;
  return typeof v === 'number' ? v : null;
}

/** Columns shown only when some run has the figure (config.dynamic, written by run-suite.ts). */
const OPTIONAL: { name: string; path: string[]; digits: number }[] = [
  { name: 'avg_layers', path: ['dynamic', 'early_exit', 'avg_layers'], digits: 2 },
  { name: 'accept_rate', path: ['dynamic', 'speculative', 'acceptance_rate'], digits: 3 },
  { name: 'tok_per_fwd', path: ['dynamic', 'speculative', 'tokens_per_target_forward'], digits: 2 },
];

export const MARKDOWN_COLUMNS = [
  'config', 'engine', 'decode_tok_s', 'decode_iqr', 'ms_per_token_p50', 'ttft_ms', 'gpu_bytes', 'bytes_per_token',
  'achieved_gbps', 'roofline_fraction', 'bound', 'perplexity', 'top1_agreement', 'kl', 'ids_match', 'speedup', 'bytes_ratio',
] as const;

/** The runs as a GitHub-flavoured Markdown table (header, alignment row, one line per run). */
export function markdownTable(runs: readonly SessionRun[]): string {
  const prompts = new Set(runs.map((r) => JSON.stringify(r.prompt)));
  const withPrompt = prompts.size > 1;
  const promptIndex = new Map([...prompts].map((p, i) => [p, i + 1]));
  const key = (r: SessionRun) => JSON.stringify(r.prompt);
  /** The first lab run with the same prompt: the ratios' denominator. */
  const base = new Map<string, SessionRun>();
  for (const r of runs) if (r.engine === 'lab' && !base.has(key(r))) base.set(key(r), r);
  const optional = OPTIONAL.filter((o) => runs.some((r) => configNumber(r, o.path) !== null));
  const header: string[] = [...MARKDOWN_COLUMNS];
  header.splice(header.indexOf('speedup'), 0, ...optional.map((o) => o.name));
  if (withPrompt) header.splice(2, 0, 'prompt');
  const rows = runs.map((r) => {
    const m = r.metrics;
    const q = r.quality;
    const d = r.spread?.decode_tok_s;
    const b = base.get(key(r));
    const cells = [
      cell(r.label || DASH),
      r.engine,
      fmtNum(m.decode_tok_s),
      d && d.n > 1 ? `${fmtNum(d.q1)}–${fmtNum(d.q3)}` : DASH,
      fmtNum(m.ms_per_token_p50),
      fmtNum(m.ttft_ms, 1),
      fmtBytes(gpuTotal(r)),
      fmtBytes(m.bytes_per_token),
      fmtNum(m.achieved_gbps, 3),
      fmtNum(m.roofline_fraction, 3),
      m.bound ?? DASH,
      fmtNum(q?.perplexity),
      fmtNum(q?.top1_agreement, 3),
      fmtNum(q?.kl, 4),
      fmtNum(configNumber(r, ['output_agreement', 'match']), 2),
      ...optional.map((o) => fmtNum(configNumber(r, o.path), o.digits)),
      ratio(b?.metrics.ms_per_token_p50, m.ms_per_token_p50),
      ratio(m.bytes_per_token, b?.metrics.bytes_per_token),
    ];
    if (withPrompt) cells.splice(2, 0, String(promptIndex.get(key(r))));
    return cells;
  });
  const numeric = (h: string) => !['config', 'engine', 'bound', 'decode_iqr'].includes(h);
  const line = (cs: string[]) => `| ${cs.join(' | ')} |`;
  return [line(header), line(header.map((h) => (numeric(h) ? '---:' : '---'))), ...rows.map(line)].join('\n');
}

/** The adapter line of a session, e.g. 'google / swiftshader (fallback adapter: CPU-emulated)'. */
export function adapterLine(s: Session): string {
  const a = s.environment.adapter;
  if (!a) return 'no WebGPU adapter';
  const name = [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' / ') || 'unknown adapter';
  return `${name}${a.is_fallback ? ' (fallback adapter: CPU-emulated, absolute timings are not GPU timings)' : ''}`;
}

/** A heading, the adapter, the table and any notes (e.g. "skipped: …"). */
export function markdownReport(s: Session, o: { title?: string; notes?: readonly string[] } = {}): string {
  const parts = [`### ${cell(o.title ?? s.name)}`, '', `Adapter: ${adapterLine(s)}. ${s.runs.length} runs; figures are medians over the repetitions.`, ''];
  parts.push(s.runs.length ? markdownTable(s.runs) : '(no runs)');
  if (o.notes?.length) parts.push('', ...o.notes.map((n) => `- ${cell(n)}`));
  return parts.join('\n') + '\n';
}
