// Automatic recording: every Generate and every quality measurement becomes a run of the current session,
// which is saved to IndexedDB after each run. The in-memory session (the `current` signal) is the source of
// truth: a failed save (quota, blocked, denied) leaves it intact, sets `saveState` to 'error' with the store's
// message, and the UI offers Export. The current session's id is kept in localStorage so a reload continues it.

import { signal } from '@preact/signals';
import type { Session, SessionEnvironment, SessionRun } from '../../bench/schema';
import { addRun, environmentFromProbe, modelFromInfo, newId, newSession, qualityFromReport, renameSession, runFromResult } from '../../bench/session';
import type { SessionSummary } from '../../bench/store';
import { idbSessionStore } from '../../bench/store-idb';
import { validateRun } from '../../bench/validate';
import { errorInfo } from '../../engine/client';
import type { GenerateResult, ModelSource, QualityReport, SamplingOptions, TechniqueSettings } from '../../engine/types';
import * as S from '../state';
import { configSummary, sourceString, techniqueSummary } from './describe';

export const store = idbSessionStore();
const GENERATOR = 'efficiency-lab (app)';
const CURRENT_KEY = 'efficiency-lab:current-session';

/** The session runs are recorded into (null until the first run, or after "delete"). */
export const current = signal<Session | null>(null);
export interface SaveState {
  state: 'idle' | 'saving' | 'saved' | 'error';
  /** The store's message on 'error' (it says the session is still in memory and can be exported). */
  message: string;
}
export const saveState = signal<SaveState>({ state: 'idle', message: '' });
/** Stored sessions, most recently updated first. */
export const summaries = signal<SessionSummary[]>([]);
/** Why the list could not be read (storage unavailable), else null. */
export const listError = signal<string | null>(null);
/** Bumped after every change to stored sessions (views reload what they show). */
export const storeVersion = signal(0);

let modelSource = '';
/** Remember where the loaded model came from (called by actions.loadModel). */
export function noteModelSource(source: ModelSource): void {
  modelSource = sourceString(source, `${import.meta.env.BASE_URL}models/`);
}

function rememberCurrent(id: string | null): void {
  try {
    if (id) localStorage.setItem(CURRENT_KEY, id);
    else localStorage.removeItem(CURRENT_KEY);
  } catch {
    /* storage denied: the session just does not continue after a reload */
  }
}

export async function refreshList(): Promise<void> {
  try {
    summaries.value = await store.list();
    listError.value = null;
  } catch (e) {
    summaries.value = []; // unreadable: show none rather than stale ones (the current session shows from memory)
    listError.value = errorInfo(e).message;
  }
  storeVersion.value++;
}

/** Start-up: read the list and continue the session recorded into before the reload. */
export async function initSessions(): Promise<void> {
  await refreshList();
  let id: string | null = null;
  try {
    id = localStorage.getItem(CURRENT_KEY);
  } catch {
    /* denied */
  }
  if (!id || current.value) return;
  try {
    const s = await store.get(id);
    if (s && !current.value) (current.value = s), (saveState.value = { state: 'saved', message: '' });
  } catch {
    /* unreadable: the next run starts a new session */
  }
}

// ---- saving: one put at a time, the latest version of each session wins ----------------------------------
const pending = new Map<string, Session>();
let queue: Promise<void> = Promise.resolve();

/** Save `s` (after the saves already queued); never throws: failures land in saveState. */
export function save(s: Session): Promise<void> {
  pending.set(s.id, s);
  saveState.value = { state: 'saving', message: '' };
  queue = queue.then(async () => {
    const next = pending.get(s.id);
    if (!next) return; // a later call already saved it
    pending.delete(s.id);
    try {
      await store.put(next);
      if (current.value?.id === next.id) rememberCurrent(next.id);
      if (pending.size === 0) saveState.value = { state: 'saved', message: '' };
    } catch (e) {
      saveState.value = { state: 'error', message: errorInfo(e).message };
    }
    await refreshList();
  });
  return queue;
}

function environmentNow(): SessionEnvironment {
  return environmentFromProbe(S.stats.value?.adapter ?? S.probe.value, navigator.userAgent);
}

/** Start a new, empty current session (saved at once so it shows in the list). */
export function startNewSession(): Promise<void> {
  const s = newSession({ environment: environmentNow(), generator: GENERATOR });
  current.value = s;
  rememberCurrent(s.id);
  return save(s);
}

/** Append a run to the current session (a new one when there is none, or when this browser/adapter differs
 *  from the one it was recorded on) and save it. */
export async function recordRun(run: SessionRun): Promise<void> {
  try {
    validateRun(run);
  } catch (e) {
    saveState.value = { state: 'error', message: `This run could not be recorded: ${errorInfo(e).message}` };
    return;
  }
  const env = environmentNow();
  let s = current.value;
  if (s && JSON.stringify(s.environment) !== JSON.stringify(env)) {
    S.notice.value = `Started a new session: this browser or adapter differs from the one "${s.name}" was recorded on.`;
    s = null;
  }
  s = addRun(s ?? newSession({ environment: env, generator: GENERATOR }), run);
  current.value = s;
  await save(s);
}

/** Generated-token timestamps arrive on their own port and may trail generate()'s result: wait a moment. */
async function settle(times: number[], n: number, ms = 500): Promise<boolean> {
  const full = () => times.length >= n && times.slice(0, n).every((t) => Number.isFinite(t));
  for (const t0 = performance.now(); !full() && performance.now() - t0 < ms; ) await new Promise((r) => setTimeout(r, 20));
  return full();
}

export interface GenerateRecord {
  prompt: string | number[];
  sampling: SamplingOptions;
  result: GenerateResult;
  /** TokenEvent.tMs by token index (filled in as events arrive, late ones included). */
  tokenTimes: number[];
  startedAt: Date;
  /** The technique settings the run had; default: S.techniques now (read before anything is awaited). */
  settings?: TechniqueSettings;
}

/** Record one Generate: model, technique settings in effect + sampling, prompt, output, times, metrics. Call
 *  it right after generate() resolves (it reads the model and the settings at once, then waits for late token
 *  events). */
export async function recordGenerate(g: GenerateRecord): Promise<void> {
  const info = S.model.value;
  if (!info) return;
  const config = { ...structuredClone(g.settings ?? S.techniques.value), sampling: { ...g.sampling } };
  const model = modelFromInfo(info, modelSource || info.name);
  const n = g.result.outputIds.length;
  const complete = await settle(g.tokenTimes, n);
  const run = runFromResult({
    engine: 'lab',
    label: configSummary(config),
    config,
    prompt: g.prompt,
    model,
    result: g.result,
    // incomplete (a token event lost): runFromResult rebuilds them from ttft + the engine's per-token latencies
    tokenTimesMs: complete ? g.tokenTimes.slice(0, n) : undefined,
    startedAt: g.startedAt,
  });
  await recordRun(run);
}

/** Record one quality measurement (forced decoding of `prompt`): a run with quality figures, no generation. */
export async function recordQuality(report: QualityReport, prompt: string | number[], startedAt: Date): Promise<void> {
  const info = S.model.value;
  if (!info) return;
  const config = structuredClone(report.settings) as unknown as SessionRun['config'];
  const gpu = S.stats.value?.gpuBytes;
  const run: SessionRun = {
    id: newId(),
    engine: 'lab',
    label: `quality · ${techniqueSummary(config)}`,
    started_at: startedAt.toISOString(),
    model: modelFromInfo(info, modelSource || info.name),
    config,
    prompt: typeof prompt === 'string' ? prompt : [...prompt],
    prompt_ids: Array.isArray(prompt) ? [...prompt] : [],
    output_ids: [],
    text: '',
    token_times_ms: [],
    metrics: {
      decode_tok_s: null,
      prefill_tok_s: null,
      ttft_ms: null,
      ms_per_token_p50: null,
      ms_per_token_p95: null,
      gpu_bytes: gpu ? { ...gpu } : null,
      bytes_per_token: null,
      achieved_gbps: null,
      roofline_fraction: null,
      prompt_tokens: Number.isInteger(report.tokens) ? report.tokens : 0,
      generated_tokens: 0,
      stopped_by: null,
    },
    quality: qualityFromReport(report, 'lab f32 (dense)'),
  };
  await recordRun(run);
}

/** Rename a session (the current one in memory too). Throws SessionValidationError/StorageError. */
export async function renameAny(id: string, name: string): Promise<void> {
  const c = current.value;
  if (c?.id === id) {
    current.value = renameSession(c, name);
    await save(current.value);
    if (saveState.value.state === 'error') throw new Error(saveState.value.message);
    return;
  }
  await store.rename(id, name);
  await refreshList();
}

/** Delete a stored session; deleting the current one means the next run starts a new session. */
export async function deleteAny(id: string): Promise<void> {
  pending.delete(id);
  await queue; // a save in flight must not bring it back
  if (current.value?.id === id) {
    current.value = null;
    rememberCurrent(null);
    saveState.value = { state: 'idle', message: '' };
  }
  try {
    await store.delete(id);
  } finally {
    await refreshList();
  }
}

/** The whole session: the in-memory one for the current id, else from the store. */
export async function loadSession(id: string): Promise<Session | undefined> {
  const c = current.value;
  return c?.id === id ? c : store.get(id);
}
