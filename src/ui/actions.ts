// Everything the UI asks of the engine: start-up (probe, embedded models, ?model=), load, generate, stop, stats.
// Errors land in the `error` signal as { name, message } and the engine stays usable.

import { EngineClient, errorInfo, watchdogFromQuery } from '../engine/client';
import { DEFAULT_TECHNIQUES, type ModelSource, type TechniqueSettings } from '../engine/types';
import { parseIds } from './format';
import { initSessions, noteModelSource, recordGenerate } from './sessions/recording';
import { beginTokenMarks, draftSettings, noteToken } from './techniques/state';
import * as S from './state';
import { profileKernels } from './panels/KernelProfile';

const query = new URLSearchParams(location.search);
// ?debug: the worker gets its test hooks (debugHang, debugLoseDevice); ?hangNotice=<s>&hangRestart=<s>: the watchdog
export const engine = new EngineClient(undefined, { debug: query.has('debug'), watchdog: watchdogFromQuery(query) });
/** The last model loaded successfully: reloaded after a restart of a hung worker. */
let lastSource: ModelSource | null = null;

const MODELS_BASE = `${import.meta.env.BASE_URL}models/`;
/** Shown when models/manifest.json is missing but this folder is there. */
const DEFAULT_EMBEDDED = 'lab-target';

function fail(e: unknown): void {
  S.error.value = errorInfo(e);
  S.statusText.value = `Failed: ${S.error.value.name}`;
}

export async function refreshStats(): Promise<void> {
  try {
    const st = await engine.stats();
    S.stats.value = st;
    S.model.value = st.model;
    if (st.adapter) S.probe.value = st.adapter;
  } catch {
    /* stats are best-effort; a dead worker reports through onRestart */
  }
}

async function fetchJson(url: string): Promise<unknown | null> {
  try {
    const r = await fetch(url, { cache: 'no-cache' });
    if (!r.ok) return null;
    return JSON.parse(await r.text()); // a dev server's HTML fallback fails here, as it should
  } catch {
    return null;
  }
}

/** The embedded models: models/manifest.json, or the default folder when only that exists. */
export async function loadManifest(): Promise<void> {
  const m = (await fetchJson(`${MODELS_BASE}manifest.json`)) as { models?: S.EmbeddedModel[]; known?: S.KnownModel[] } | null;
  S.known.value = Array.isArray(m?.known) ? m.known.filter((k) => k && typeof k.repo === 'string') : [];
  let list = Array.isArray(m?.models) ? m.models.filter((e) => e && typeof e.folder === 'string') : [];
  if (list.length === 0 && (await fetchJson(`${MODELS_BASE}${DEFAULT_EMBEDDED}/config.json`))) {
    list = [{ name: DEFAULT_EMBEDDED, folder: DEFAULT_EMBEDDED, role: 'target' }];
  }
  S.embedded.value = list;
  const target = list.find((e) => e.role === 'target') ?? list[0];
  if (target && !S.selectedEmbedded.value) S.selectedEmbedded.value = target.folder;
}

export async function loadModel(source: ModelSource): Promise<boolean> {
  if (S.busy.value && S.phase.value !== 'starting') return false;
  const prev = S.phase.value;
  S.phase.value = 'loading';
  S.error.value = null;
  S.statusText.value = `Loading ${source.name ?? 'model'}…`;
  try {
    S.loadProgress.value = null;
    // the precision chosen in the controls carries over: the weights go up packed (what a laptop's memory needs)
    const info = await engine.load(source, (p) => (S.loadProgress.value = p), structuredClone(S.techniques.value.quant));
    lastSource = source;
    S.resumable.value = null; // a run interrupted on the previous model cannot be continued on this one
    S.model.value = info;
    noteModelSource(source);
    S.promptMode.value = info.hasTokenizer ? 'text' : 'ids';
    if (!info.hasTokenizer && !/^[\d\s,]+$/.test(S.prompt.value)) S.prompt.value = '1, 2, 3, 4';
    const ms = info.loadMs;
    S.statusText.value = `Loaded ${info.name} in ${Math.round(ms.fetch + ms.parse + ms.upload + ms.compile)} ms`;
    return true;
  } catch (e) {
    fail(e);
    return false;
  } finally {
    S.loadProgress.value = null;
    S.phase.value = prev === 'starting' ? 'starting' : 'idle';
    await refreshStats();
  }
}

export function urlSource(url: string): ModelSource {
  const abs = new URL(url, location.href);
  if (!abs.pathname.endsWith('/')) abs.pathname += '/';
  const name = decodeURIComponent(abs.pathname.split('/').filter(Boolean).pop() ?? 'model');
  return { kind: 'url', baseUrl: abs.href, name };
}

export function loadEmbedded(folder = S.selectedEmbedded.value): Promise<boolean> {
  const src = urlSource(`${MODELS_BASE}${folder}/`);
  // a target ships with a draft model (same tokenizer) for speculative decoding: the manifest's 'draft' entry
  const entry = S.embedded.value.find((m) => m.folder === folder);
  const draft = S.embedded.value.find((m) => m.role === 'draft');
  if (src.kind === 'url' && entry?.role === 'target' && draft) src.draftUrl = new URL(`${MODELS_BASE}${draft.folder}/`, location.href).href;
  return loadModel(src);
}

/** Picked files (a folder or a multi-pick): keep the top level of a folder pick (skips e.g. onnx/). */
export function loadFiles(list: FileList | File[]): Promise<boolean> {
  const files = [...list];
  if (files.length === 0) return Promise.resolve(false);
  const depth = (f: File) => (f.webkitRelativePath || f.name).split('/').length;
  const top = Math.min(...files.map(depth));
  const picked = files.filter((f) => depth(f) === top);
  const rel = picked[0]!.webkitRelativePath;
  const name = rel && rel.includes('/') ? rel.split('/').slice(-2, -1)[0]! : picked.find((f) => f.name.endsWith('.safetensors'))?.name ?? 'local files';
  return loadModel({ kind: 'files', files: picked, name });
}

export function generate(): Promise<void> {
  return runGenerate();
}

/** A run from the prompt box, or (`resume`) the continuation of one a device loss interrupted. */
async function runGenerate(resume?: S.Resumable): Promise<void> {
  if (S.busy.value) return;
  if (!S.model.value) {
    S.error.value = { name: 'NoModelError', message: 'Load a model first.' };
    return;
  }
  let promptArg: string | number[];
  try {
    promptArg = resume ? resume.prompt : S.promptMode.value === 'ids' ? parseIds(S.prompt.value) : S.prompt.value;
  } catch (e) {
    S.error.value = { name: 'PromptError', message: errorInfo(e).message };
    return;
  }
  S.resumable.value = null;
  S.clearRun();
  beginTokenMarks();
  S.error.value = null;
  S.phase.value = 'generating';
  S.statusText.value = 'Generating…';
  if (Array.isArray(promptArg)) S.promptIds.value = promptArg;
  else S.runPrompt.value = promptArg;
  // a continued run shows the interrupted run's tokens first; the new ones stream after them
  const before = resume?.before ?? [];
  const beforeText = resume?.beforeText ?? '';
  if (resume) (S.outputIds.value = [...before]), (S.outputText.value = beforeText), (S.promptIds.value = resume.promptIds);
  S.runStartedAt.value = performance.now();
  const poll = setInterval(() => void refreshStats(), 1000);
  // Token events travel on their own message port: one may arrive after generate() resolved, or out of order.
  let done = false;
  let last = -1;
  const allTimes: number[] = []; // every token's tMs, late events included: the session records them all
  const wanted = resume ? { ...resume.sampling } : { ...S.sampling.value }; // the whole budget
  const sampling = { ...wanted, maxNewTokens: wanted.maxNewTokens - before.length };
  const startedAt = new Date();
  try {
    const req = { prompt: promptArg, sampling, profile: profileKernels.value, ...(resume ? { resume: before } : {}) };
    const res = await engine.generate(req, (ev) => {
      allTimes[ev.index] = ev.tMs;
      noteToken(ev); // exit layer / drafted, for the token colouring
      if (done) return;
      const ids = [...S.outputIds.value];
      const times = [...S.tokenTimes.value];
      ids[before.length + ev.index] = ev.id;
      times[ev.index] = ev.tMs;
      S.outputIds.value = ids;
      S.tokenTimes.value = times;
      if (ev.index > last) {
        last = ev.index;
        S.outputText.value = beforeText + ev.textSoFar;
      }
    });
    done = true;
    S.promptIds.value = res.promptIds.slice(0, res.promptIds.length - before.length);
    S.outputIds.value = [...before, ...res.outputIds];
    S.outputText.value = beforeText + res.text;
    S.finalMetrics.value = res.metrics;
    S.statusText.value = resume
      ? `Continued: generated ${res.outputIds.length} more tokens, ${before.length + res.outputIds.length} in all (stopped by ${res.metrics.stoppedBy})`
      : `Generated ${res.outputIds.length} tokens (stopped by ${res.metrics.stoppedBy})`;
    void recordGenerate({ prompt: promptArg, sampling, result: res, tokenTimes: allTimes, startedAt });
  } catch (e) {
    fail(e);
    // A device loss: offer to continue from the tokens that arrived (the engine re-acquires the device itself).
    const got = S.outputIds.value;
    const n = got.findIndex((x) => x === undefined);
    const have = n < 0 ? got : got.slice(0, n);
    if (errorInfo(e).name === 'DeviceLostError' && have.length < wanted.maxNewTokens) {
      S.resumable.value = { prompt: promptArg, sampling: wanted, before: [...have], beforeText: S.outputText.value, promptIds: [...S.promptIds.value] };
    }
  } finally {
    done = true;
    clearInterval(poll);
    S.phase.value = 'idle';
    await refreshStats();
  }
}

/** "Continue" after a device loss: the prompt + the tokens generated before it, the rest of the budget. */
export function continueRun(): Promise<void> {
  const r = S.resumable.value;
  return r ? runGenerate(r) : Promise.resolve();
}

/** "Restart" when the engine does not respond: a new worker, the last model reloaded, the settings re-applied. */
export function restartEngine(): void {
  engine.restartHung(false);
}

/** After a hung worker was replaced: load the last model again and re-apply the technique settings. */
async function reloadAfterHang(settings: TechniqueSettings): Promise<void> {
  const src = lastSource;
  try {
    S.probe.value = await engine.init();
  } catch (e) {
    return fail(e);
  }
  if (!src) return;
  const hangError = S.error.value;
  if (!(await loadModel(src))) return;
  let reapplied = '';
  if (JSON.stringify(settings) !== JSON.stringify(DEFAULT_TECHNIQUES)) {
    try {
      await engine.configure(structuredClone(settings));
      S.techniques.value = structuredClone(settings); // a load resets the controls to dense f32: follow the engine
      draftSettings.value = structuredClone(settings);
      reapplied = ' and the technique settings re-applied';
    } catch (e) {
      reapplied = `; the technique settings could not be re-applied (${errorInfo(e).message}), so it runs dense f32`;
    }
    await refreshStats();
  }
  S.error.value = null;
  S.notice.value = `${hangError?.message ?? 'The engine was restarted.'} ${S.model.value?.name ?? 'The model'} was reloaded${reapplied}.`;
}

export async function stop(): Promise<void> {
  if (S.phase.value !== 'generating') return;
  S.phase.value = 'stopping';
  S.statusText.value = 'Stopping…';
  try {
    await engine.abort();
  } catch (e) {
    fail(e);
  }
}

/** Start-up: probe the adapter, list embedded models, load ?model=<url> or the embedded target. */
export async function start(): Promise<void> {
  engine.onUnresponsive((ms) => (S.unresponsive.value = ms));
  engine.onRestart((why) => {
    const settings = structuredClone(S.techniques.value); // before the model (and so the controls) reset
    S.error.value = why;
    S.model.value = null;
    S.resumable.value = null;
    S.phase.value = 'idle';
    S.statusText.value = 'Engine restarted';
    if (why.name === 'EngineHungError') void reloadAfterHang(settings);
    else void engine.init().then((p) => (S.probe.value = p), fail);
  });
  S.phase.value = 'starting';
  const manifest = loadManifest();
  void initSessions(); // the session list, and the session recorded into before a reload
  try {
    S.probe.value = await engine.init();
  } catch (e) {
    fail(e);
    await manifest;
    S.phase.value = 'idle';
    return;
  }
  await manifest;
  await refreshStats();
  const q = new URLSearchParams(location.search);
  const url = q.get('model');
  const p = q.get('prompt');
  if (p != null) S.prompt.value = p;
  if (url) await loadModel(urlSource(url));
  else if (S.selectedEmbedded.value) await loadEmbedded();
  S.phase.value = 'idle';
  if (!S.model.value && !S.error.value) S.statusText.value = 'Pick a model';
}
