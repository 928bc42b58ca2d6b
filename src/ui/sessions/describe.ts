// Short human descriptions of a run's config (labels in the sessions list, the compare table, chart legends),
// and the model source string a run records. Works on any config: the app's own ({ ...TechniqueSettings,
// sampling }), and baselines' free-form ones ({ provider: 'wasm' }), which fall back to compact JSON.

import type { JsonValue, SessionRun } from '../../bench/schema';
import type { ModelSource } from '../../engine/types';

type Obj = { [k: string]: JsonValue };
const isObj = (v: JsonValue | undefined): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const num = (v: JsonValue | undefined): number | null => (typeof v === 'number' ? v : null);

/** The technique part of a config: "f32", "int4 g32 · 2:4 · early exit ≥0.9 · speculative γ4 (self, 2 layers)". */
export function techniqueSummary(config: Obj): string {
  const parts: string[] = [];
  const q = config.quant;
  if (isObj(q) && typeof q.precision === 'string') {
    const grouped = q.precision.startsWith('int');
    parts.push(`${q.precision}${grouped && num(q.groupSize) ? ` g${q.groupSize}` : ''}${typeof q.lmHead === 'string' && q.lmHead !== q.precision ? ` (head ${q.lmHead})` : ''}`);
  } else if (typeof config.precision === 'string') parts.push(config.precision);
  const p = config.prune;
  if (isObj(p) && typeof p.kind === 'string' && p.kind !== 'none') {
    const s = num(p.sparsity);
    parts.push(p.kind === '2:4' ? '2:4 sparse' : `${p.kind} prune${s != null ? ` ${Math.round(s * 100)}%` : ''}`);
  }
  const e = config.earlyExit ?? config.early_exit;
  if (isObj(e) && e.enabled !== false) parts.push(`early exit ≥${num(e.threshold) ?? '?'}${typeof e.criterion === 'string' && e.criterion !== 'maxprob' ? ` (${e.criterion})` : ''}`);
  const sp = config.speculative;
  if (isObj(sp) && sp.enabled !== false) {
    const dp = typeof sp.draftPrecision === 'string' && sp.draftPrecision !== 'same' ? ` ${sp.draftPrecision}` : '';
    parts.push(`speculative γ${num(sp.gamma) ?? '?'}${sp.adaptive === true ? ' adaptive' : ''}${sp.draft === 'self' ? ` (self${dp}, ${num(sp.selfLayers) ?? '?'} layers)` : sp.draft === 'model' ? ` (draft model${dp})` : ''}`);
  }
  if (parts.length) return parts.join(' · ');
  const rest = Object.fromEntries(Object.entries(config).filter(([k]) => k !== 'sampling'));
  if (Object.keys(rest).length === 0) return 'default';
  const json = JSON.stringify(rest).replace(/"/g, '');
  return json.length > 60 ? `${json.slice(0, 59)}…` : json;
}

/** Sampling in a few characters: "greedy" or "T0.8 k40 p0.9 seed 3". */
export function samplingSummary(config: Obj): string {
  const s = config.sampling;
  if (!isObj(s)) return '';
  const t = num(s.temperature);
  if (t === 0) return 'greedy';
  const k = num(s.topK);
  const p = num(s.topP);
  return [`T${t ?? '?'}`, k ? `k${k}` : '', p != null && p < 1 ? `p${p}` : '', s.seed != null ? `seed ${s.seed}` : ''].filter(Boolean).join(' ');
}

/** The whole config: techniques, then sampling. */
export function configSummary(config: Obj): string {
  const s = samplingSummary(config);
  return s ? `${techniqueSummary(config)} · ${s}` : techniqueSummary(config);
}

/** Same model, engine and technique settings (sampling ignored): runs that a quality figure applies to. */
export function techniqueKey(run: SessionRun): string {
  const rest = Object.fromEntries(Object.entries(run.config).filter(([k]) => k !== 'sampling'));
  return `${run.engine}|${run.model.name}|${run.model.source}|${stableJson(rest)}`;
}

function stableJson(v: JsonValue): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (isObj(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stableJson(v[k]!)}`).join(',')}}`;
  return JSON.stringify(v);
}

/** What a run is, in one line: its label, or the config summary. */
export function runTitle(run: SessionRun): string {
  return run.label || configSummary(run.config);
}

/** The `model.source` a run records: 'embedded:<folder>' for the lab's own models, the URL for other served
 *  folders, 'files:<name>' for picked files, 'hub:<repo>[@revision]' for the Hugging Face Hub. */
export function sourceString(source: ModelSource, modelsBase: string): string {
  if (source.kind === 'files') return `files:${source.name ?? 'local files'}`;
  if (source.kind === 'hub') return `hub:${source.repo}${source.revision && source.revision !== 'main' ? `@${source.revision}` : ''}`;
  const base = new URL(modelsBase, location.href).href;
  if (source.baseUrl.startsWith(base)) {
    const folder = source.baseUrl.slice(base.length).replace(/\/$/, '');
    if (folder && !folder.includes('/')) return `embedded:${folder}`;
  }
  return source.baseUrl;
}

/** "2025-01-31 12:00" in local time. */
export function fmtTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Offer `text` as a file download. */
export function download(text: string, name: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
