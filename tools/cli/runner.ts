// The headless CLIs' page: the real LabEngine on this page's WebGPU, driven from Node through window.labRunner
// (tools/cli/harness.mjs). Every method resolves to a plain object; failures resolve to { error: { name, message } }
// so the typed error's name survives page.evaluate. Progress goes to Node through window.labProgress.

import { OrtBaseline } from '../../src/bench/baselines/ort';
import { markdownReport } from '../../src/bench/markdown';
import { runSuite, type SuiteProgress } from '../../src/bench/run-suite';
import type { EngineKind } from '../../src/bench/schema';
import { environmentFromProbe, exportJson } from '../../src/bench/session';
import { getSuite } from '../../src/bench/suites';
import { timeLinearsOnly } from '../../src/engine/autotune';
import { LabEngine } from '../../src/engine/engine';
import { detectFormat, pickLlama2cFiles } from '../../src/model/detect';
import type { EngineErrorInfo, GenerateRequest, ModelSource, RunMetrics, SamplingOptions, TechniqueSettings } from '../../src/engine/types';

/** What bench.mjs asks for in --suite mode. */
export interface SuiteRequest {
  suite: string;
  /** The served model folder (/__model/) and its name for RunModel.source (e.g. 'models/lab-target'). */
  baseUrl: string;
  modelLabel: string;
  /** The served draft model folder (/__draft/) for speculative rows with draft 'model', or null. */
  draftUrl: string | null;
  engines?: EngineKind[];
  repeat?: number;
  /** URL of the held-out text (quality), or null. */
  heldoutUrl: string | null;
  generator: string;
}

type Result<T> = T | { error: EngineErrorInfo };

interface Runner {
  ready: boolean;
  /** `files`: the served folder's file names, when known; a GGUF file or a llama2.c checkpoint is detected from them
   *  (src/model/detect.ts) and loaded as picked files, exactly as the app's local loading does. `quant`: the
   *  precision the weights are uploaded at (LabEngine.load; default f32). */
  load(baseUrl: string, name?: string, files?: string[] | null, quant?: TechniqueSettings['quant'] | null): Promise<Result<unknown>>;
  generate(req: GenerateRequest, progressEvery?: number): Promise<Result<unknown>>;
  bench(req: { prompt: string | number[]; sampling: SamplingOptions; warmup: number; repeats: number }): Promise<Result<unknown>>;
  /** The weight-reading floor: `reps` timed submits of the loaded model's decode-step GEMVs (timeLinearsOnly). */
  floor(reps: number): Promise<Result<unknown>>;
  /** Run a suite (src/bench/run-suite.ts): the session as JSON text, the Markdown report and the notes. */
  suite(req: SuiteRequest): Promise<Result<{ json: string; markdown: string; notes: string[] }>>;
}

declare global {
  interface Window {
    labRunner: Runner;
    labProgress?: (msg: string) => Promise<void>;
  }
}

const engine = new LabEngine();
const progress = (msg: string) => void window.labProgress?.(msg);

async function guard<T>(fn: () => Promise<T>): Promise<Result<T>> {
  try {
    return await fn();
  } catch (e) {
    const o = e as { name?: unknown; message?: unknown };
    return { error: { name: typeof o?.name === 'string' ? o.name : 'Error', message: String(o?.message ?? e) } };
  }
}

/** A served HF folder loads by URL; a served .gguf file or llama2.c folder is fetched into File objects and loaded
 *  like the user's picked files (the format is detected from the names, never configured). */
async function sourceFor(baseUrl: string, name: string | undefined, files: string[] | undefined): Promise<ModelSource> {
  const format = files ? detectFormat(files) : 'hf';
  if (!files || format === 'hf' || format === null) return { kind: 'url', baseUrl, name };
  const wanted = format === 'gguf' ? files.filter((f) => f.toLowerCase().endsWith('.gguf')) : (() => {
    const p = pickLlama2cFiles(files);
    return [p.checkpoint, ...(p.tokenizer ? [p.tokenizer] : [])];
  })();
  const picked = await Promise.all(wanted.map(async (f) => {
    const res = await fetch(`${baseUrl.replace(/\/?$/, '/')}${encodeURIComponent(f)}`);
    if (!res.ok) throw new Error(`${f}: HTTP ${res.status}`);
    return new File([await res.blob()], f);
  }));
  return { kind: 'files', files: picked, name };
}

window.labRunner = {
  ready: true,

  load: (baseUrl, name, files, quant) =>
    guard(async () => {
      const adapter = await engine.init();
      progress(`adapter: ${[adapter.vendor, adapter.architecture, adapter.description].filter(Boolean).join(' / ') || 'unknown'}${adapter.isFallback ? ' (fallback, CPU-emulated: timings are not GPU timings)' : ''}`);
      const source = await sourceFor(baseUrl, name, files ?? undefined);
      progress(`loading ${name ?? baseUrl}${quant ? ` at ${quant.precision}${quant.precision.startsWith('int') ? ` g${quant.groupSize}` : ''}` : ''}`);
      const model = await engine.load(source, undefined, quant ?? undefined);
      const ms = model.loadMs;
      progress(`loaded ${model.name}: ${model.parameters} parameters, ${model.weightBytes} weight bytes, ` +
        `fetch ${ms.fetch.toFixed(0)} / parse ${ms.parse.toFixed(0)} / upload ${ms.upload.toFixed(0)} / compile ${ms.compile.toFixed(0)} ms`);
      const stats = await engine.stats();
      return { adapter, model, variants: stats.variants };
    }),

  generate: (req, progressEvery = 16) =>
    guard(async () => {
      progress(`generating up to ${req.sampling.maxNewTokens} tokens`);
      const result = await engine.generate(req, (ev) => {
        if ((ev.index + 1) % progressEvery === 0) progress(`  ${ev.index + 1} tokens, ${ev.tMs.toFixed(0)} ms`);
      });
      return { result, stats: await engine.stats() };
    }),

  bench: ({ prompt, sampling, warmup, repeats }) =>
    guard(async () => {
      const runs: RunMetrics[] = [];
      for (let i = 0; i < warmup + repeats; i++) {
        const r = await engine.generate({ prompt, sampling }, () => {});
        const m = r.metrics;
        progress(`${i < warmup ? 'warmup' : `run ${i - warmup + 1}/${repeats}`}: ${m.generatedTokens} tokens, decode ${m.decode_tok_s.toFixed(2)} tok/s, p50 ${m.ms_per_token_p50.toFixed(2)} ms/token`);
        if (i >= warmup) runs.push(m);
      }
      return { runs, stats: await engine.stats() };
    }),

  floor: (reps) =>
    guard(async () => {
      const { gpu, model } = engine.internals();
      if (!gpu || !model) throw Object.assign(new Error('No model is loaded'), { name: 'NoModelError' });
      const times = await timeLinearsOnly(gpu, model, reps);
      return { times, stats: await engine.stats() };
    }),

  suite: (req) =>
    guard(async () => {
      const suite = getSuite(req.suite);
      const probe = await engine.init();
      progress(`adapter: ${[probe.vendor, probe.architecture, probe.description].filter(Boolean).join(' / ') || 'unknown'}${probe.isFallback ? ' (fallback, CPU-emulated: timings are not GPU timings)' : ''}`);
      const notes: string[] = [];
      let heldoutText: string | undefined;
      if (req.heldoutUrl) {
        const res = await fetch(req.heldoutUrl);
        if (res.ok) heldoutText = await res.text();
        else notes.push(`held-out text ${req.heldoutUrl}: HTTP ${res.status}`);
      }
      let last = 0;
      const session = await runSuite(engine, suite, {
        modelSource: {
          kind: 'url',
          baseUrl: req.baseUrl,
          name: req.modelLabel.split('/').filter(Boolean).pop(),
          ...(req.draftUrl ? { draftUrl: req.draftUrl } : {}),
        },
        modelUrl: `${req.baseUrl.replace(/\/?$/, '/')}onnx/model.onnx`,
        environment: environmentFromProbe(probe, navigator.userAgent),
        modelLabel: req.modelLabel,
        generator: req.generator,
        ...(req.repeat !== undefined ? { repeat: req.repeat } : {}),
        ...(req.engines ? { engines: req.engines } : {}),
        ...(heldoutText !== undefined ? { heldoutText } : {}),
        ort: { create: (url, config, ep, o) => OrtBaseline.create(url, config, ep, o) },
        onNote: (n) => {
          notes.push(n);
          progress(n);
        },
        onProgress: (p: SuiteProgress) => {
          const now = performance.now();
          if (now - last < 250 && p.label !== 'done') return; // at most 4 lines a second
          last = now;
          progress(`[${((100 * p.done) / Math.max(1, p.total)).toFixed(0).padStart(3)}%, eta ${fmtMs(p.etaMs)}] ${p.label}`);
        },
      });
      return { json: exportJson(session), markdown: markdownReport(session, { title: `suite ${suite.name}: ${suite.description}`, notes }), notes };
    }),
};

function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}
