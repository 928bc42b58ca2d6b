// Building, editing, exporting and importing benchmark sessions. Pure functions on plain data: the app (with
// the IndexedDB store in store.ts) and the headless bench CLI in Node both use them. Every edit returns a new
// Session and leaves its argument untouched, so a session held in a signal stays valid whatever storage does.
//
//   let s = newSession({ environment: environmentFromProbe(probe, navigator.userAgent) });
//   s = addRun(s, runFromResult({ engine: 'lab', label: 'f32', config, prompt, model, result, tokenTimesMs }));
//   download(exportJson(s)); const back = importJson(text); // throws SessionImportError, naming the field

import type { AdapterProbe } from '../gpu/device';
import type { GenerateResult, ModelInfo } from '../engine/types';
import { parseJsonWithPosition } from './json';
import {
  LIMITS,
  SESSION_FORMAT,
  SESSION_VERSION,
  type EngineKind,
  type JsonValue,
  type RunModel,
  type RunQuality,
  type RunSpread,
  type Session,
  type SessionEnvironment,
  type SessionMetrics,
  type SessionRun,
} from './schema';
import { SessionImportError, SessionValidationError, validateSession } from './validate';

export { SessionImportError, SessionValidationError } from './validate';
export { SessionParseError } from './json';

/** The file is over LIMITS.importBytes; nothing was read into memory beyond its size. */
export class SessionTooLargeError extends SessionImportError {
  override name = 'SessionTooLargeError';
}

/** A random id (UUID v4 where crypto.randomUUID exists, i.e. secure contexts and Node >= 19). */
export function newId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

const iso = (t: Date | string | undefined): string => (typeof t === 'string' ? t : (t ?? new Date()).toISOString());
/** A metric as the format wants it: finite, or null (0 tokens ⇒ Infinity tok/s ⇒ null). */
export const finiteOrNull = (x: number | null | undefined): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/** The environment block from the engine's adapter probe (null = no WebGPU). */
export function environmentFromProbe(probe: AdapterProbe | null, userAgent: string): SessionEnvironment {
  return {
    user_agent: userAgent.slice(0, LIMITS.infoChars),
    adapter: probe && {
      vendor: probe.vendor,
      architecture: probe.architecture,
      device: probe.device,
      description: probe.description,
      is_fallback: probe.isFallback,
      features: [...probe.features],
      limits: Object.fromEntries(Object.entries(probe.limits).filter(([, v]) => Number.isFinite(v))),
    },
  };
}

export interface NewSessionOptions {
  environment: SessionEnvironment;
  /** Default: 'Session <date time>'. */
  name?: string;
  id?: string;
  now?: Date | string;
  generator?: string;
}

export function newSession(o: NewSessionOptions): Session {
  const now = iso(o.now);
  const s: Session = {
    format: SESSION_FORMAT,
    version: SESSION_VERSION,
    id: o.id ?? newId(),
    name: checkName(o.name ?? `Session ${now.slice(0, 16).replace('T', ' ')}`),
    created_at: now,
    updated_at: now,
    environment: o.environment,
    runs: [],
  };
  if (o.generator !== undefined) s.generator = o.generator;
  return s;
}

/** A copy with `run` appended and updated_at bumped. */
export function addRun(s: Session, run: SessionRun, now?: Date | string): Session {
  if (s.runs.length >= LIMITS.runs) throw new RangeError(`a session holds at most ${LIMITS.runs} runs`);
  return { ...s, runs: [...s.runs, run], updated_at: iso(now) };
}

/** A copy without the run `runId` (unchanged if absent). */
export function removeRun(s: Session, runId: string, now?: Date | string): Session {
  const runs = s.runs.filter((r) => r.id !== runId);
  return runs.length === s.runs.length ? s : { ...s, runs, updated_at: iso(now) };
}

/** A copy named `name` (trimmed; 1..200 characters, else SessionValidationError on `name`). */
export function renameSession(s: Session, name: string, now?: Date | string): Session {
  return { ...s, name: checkName(name), updated_at: iso(now) };
}

/** A copy under a fresh id (e.g. to import a file whose id is already stored). */
export function copySession(s: Session, o: { id?: string; name?: string; now?: Date | string } = {}): Session {
  return { ...s, id: o.id ?? newId(), name: checkName(o.name ?? s.name), updated_at: iso(o.now) };
}

function checkName(name: string): string {
  const n = name.trim();
  if (!n) throw new SessionValidationError('name', 'must not be empty');
  if (n.length > LIMITS.nameChars) throw new SessionValidationError('name', `longer than ${LIMITS.nameChars} characters (got ${n.length})`);
  return n;
}

/** The model block from the engine's ModelInfo. */
export function modelFromInfo(info: ModelInfo, source: string): RunModel {
  return { name: info.name || 'unnamed', source, parameters: info.parameters, bytes: info.weightBytes, architecture: info.architecture };
}

export interface RunInput {
  engine: EngineKind;
  label: string;
  /** Technique settings, e.g. { ...techniqueSettings, sampling } (JSON data: numbers, strings, booleans, null,
   *  arrays, plain objects; anything else fails validation on export). */
  config: object;
  prompt: string | number[];
  model: RunModel;
  result: GenerateResult;
  /** TokenEvent.tMs of each generated token; default: ttft + running sum of metrics.tokenMs. */
  tokenTimesMs?: number[];
  startedAt?: Date | string;
  id?: string;
  /** Override the roofline figures of result.metrics (e.g. a suite's own measurement). */
  bytesPerToken?: number | null;
  achievedGbps?: number | null;
  rooflineFraction?: number | null;
  spread?: RunSpread;
  quality?: RunQuality;
}

/** One run from a GenerateResult: copies arrays, maps non-finite figures to null. */
export function runFromResult(r: RunInput): SessionRun {
  const m = r.result.metrics;
  const metrics: SessionMetrics = {
    decode_tok_s: finiteOrNull(m.decode_tok_s),
    prefill_tok_s: finiteOrNull(m.prefill_tok_s),
    ttft_ms: finiteOrNull(m.ttft_ms),
    ms_per_token_p50: finiteOrNull(m.ms_per_token_p50),
    ms_per_token_p95: finiteOrNull(m.ms_per_token_p95),
    gpu_bytes: m.gpu_bytes ? { ...m.gpu_bytes } : null,
    bytes_per_token: finiteOrNull(r.bytesPerToken !== undefined ? r.bytesPerToken : m.bytes_per_token),
    achieved_gbps: finiteOrNull(r.achievedGbps !== undefined ? r.achievedGbps : m.achieved_gbps),
    roofline_fraction: finiteOrNull(r.rooflineFraction !== undefined ? r.rooflineFraction : m.roofline_fraction),
    copy_gbps: finiteOrNull(m.copy_gbps),
    bound: m.bound ?? null,
    dispatches_per_token: finiteOrNull(m.dispatches_per_token),
    prompt_tokens: m.promptTokens,
    generated_tokens: m.generatedTokens,
    stopped_by: m.stoppedBy ?? null,
  };
  const run: SessionRun = {
    id: r.id ?? newId(),
    engine: r.engine,
    label: r.label,
    started_at: iso(r.startedAt),
    model: { ...r.model },
    config: structuredClone(r.config) as { [key: string]: JsonValue },
    prompt: typeof r.prompt === 'string' ? r.prompt : [...r.prompt],
    prompt_ids: [...r.result.promptIds],
    output_ids: [...r.result.outputIds],
    text: r.result.text,
    token_times_ms: r.tokenTimesMs ? [...r.tokenTimesMs] : tokenTimesFromMetrics(m.ttft_ms, m.tokenMs, r.result.outputIds.length),
    metrics,
  };
  if (r.spread) run.spread = structuredClone(r.spread);
  if (r.quality) run.quality = { ...r.quality };
  if (m.kernelNs) run.kernel_ns = { ...m.kernelNs };
  return run;
}

/** The quality block from the engine's QualityReport (or any object with these figures). */
export function qualityFromReport(q: { perplexity: number; nll?: number; tokens?: number; top1_agreement: number | null; kl: number | null }, reference?: string): RunQuality {
  const out: RunQuality = { perplexity: finiteOrNull(q.perplexity), top1_agreement: finiteOrNull(q.top1_agreement), kl: finiteOrNull(q.kl) };
  if (q.nll !== undefined) out.nll = finiteOrNull(q.nll);
  if (q.tokens !== undefined) out.tokens = q.tokens;
  if (reference !== undefined) out.reference = reference;
  return out;
}

function tokenTimesFromMetrics(ttft: number, tokenMs: number[], n: number): number[] {
  if (n === 0 || !Number.isFinite(ttft)) return [];
  const t = [ttft];
  for (let i = 0; i < n - 1 && i < tokenMs.length; i++) t.push(t[i]! + tokenMs[i]!);
  return t;
}

// ---- JSON -------------------------------------------------------------------------------------------------

/**
 * The session as a JSON file: validated first (so every export imports back), two-space indented, with
 * arrays of numbers (token ids, times) kept on one line. Throws SessionValidationError for an invalid session.
 */
export function exportJson(s: Session): string {
  validateSession(s);
  return compactNumberArrays(JSON.stringify(s, null, 2)) + '\n';
}

const NUMBER_LINE = /^\s*-?[0-9][0-9.eE+-]*,?$/;

/** Put each pretty-printed array of plain numbers on one line. Line-based and linear: JSON strings cannot
 *  hold a raw newline, so every line break in JSON.stringify's output is structural. */
function compactNumberArrays(pretty: string): string {
  const lines = pretty.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i]!;
    let j = i + 1;
    if (open.endsWith('[')) while (j < lines.length && NUMBER_LINE.test(lines[j]!)) j++;
    if (j > i + 1 && j < lines.length && /^\s*\],?$/.test(lines[j]!)) {
      const items = lines.slice(i + 1, j).map((l) => l.trim().replace(/,$/, ''));
      out.push(`${open}${items.join(', ')}${lines[j]!.trim()}`);
      i = j;
    } else out.push(open);
  }
  return out.join('\n');
}

/** Parse and validate a session file's text. Throws SessionTooLargeError, SessionParseError (with line and
 *  column) or SessionValidationError (with the JSON path); returns nothing partial. */
export function importJson(text: string): Session {
  if (text.length > LIMITS.importBytes) throw new SessionTooLargeError(`the file is ${mib(text.length)}; the limit is ${mib(LIMITS.importBytes)}`);
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // a byte-order mark some editors write
  return validateSession(parseJsonWithPosition(body));
}

/** importJson on a File/Blob, refusing an oversized one before reading it. */
export async function importBlob(blob: Blob): Promise<Session> {
  if (blob.size > LIMITS.importBytes) throw new SessionTooLargeError(`the file is ${mib(blob.size)}; the limit is ${mib(LIMITS.importBytes)}`);
  return importJson(await blob.text());
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

/** Suggested file name for an export: 'efficiency-lab-<name>-<date>.json'. */
export function exportFileName(s: Session, ext: 'json' | 'csv'): string {
  const slug = s.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'session';
  return `efficiency-lab-${slug}-${s.updated_at.slice(0, 10)}.${ext}`;
}
