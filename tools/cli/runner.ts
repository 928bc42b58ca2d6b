// The headless CLIs' page: the real LabEngine on this page's WebGPU, driven from Node through window.labRunner
// (tools/cli/harness.mjs). Every method resolves to a plain object; failures resolve to { error: { name, message } }
// so the typed error's name survives page.evaluate. Progress goes to Node through window.labProgress.

import { LabEngine } from '../../src/engine/engine';
import type { EngineErrorInfo, GenerateRequest, ModelSource, RunMetrics, SamplingOptions } from '../../src/engine/types';

type Result<T> = T | { error: EngineErrorInfo };

interface Runner {
  ready: boolean;
  load(baseUrl: string, name?: string): Promise<Result<unknown>>;
  generate(req: GenerateRequest, progressEvery?: number): Promise<Result<unknown>>;
  bench(req: { prompt: string | number[]; sampling: SamplingOptions; warmup: number; repeats: number }): Promise<Result<unknown>>;
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

window.labRunner = {
  ready: true,

  load: (baseUrl, name) =>
    guard(async () => {
      const adapter = await engine.init();
      progress(`adapter: ${[adapter.vendor, adapter.architecture, adapter.description].filter(Boolean).join(' / ') || 'unknown'}${adapter.isFallback ? ' (fallback, CPU-emulated: timings are not GPU timings)' : ''}`);
      const source: ModelSource = { kind: 'url', baseUrl, name };
      progress(`loading ${name ?? baseUrl}`);
      const model = await engine.load(source);
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
};
