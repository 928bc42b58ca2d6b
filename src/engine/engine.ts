// LabEngine: the Engine implementation that runs inside the worker. It owns the Gpu, the loaded model and the
// generation loop; everything it returns is structured-clonable. Errors are thrown as typed errors (their
// name and message cross the worker boundary) and never leave the engine unusable.

import { acquireGpu, adapterKey, type AdapterProbe, type Gpu } from '../gpu/device';
import { countParameters } from '../model/weights';
import { loadModel, type LoadedModel } from '../model/source';
import { GpuModel } from '../model/transformer';
import { autotune, warmUp } from './autotune';
import { generateLoop, percentile } from './generate';
import { readAdapterCache, writeAdapterCache } from './tune-cache';
import type { Engine, EngineStats, GenerateRequest, GenerateResult, GpuBytes, ModelInfo, ModelSource, TokenEvent } from './types';

export class EngineBusyError extends Error {
  override name = 'EngineBusyError';
}
export class NoModelError extends Error {
  override name = 'NoModelError';
}
export class PromptError extends Error {
  override name = 'PromptError';
}

/** Context the lab allocates KV cache for (capped by the model's max_position_embeddings). */
export const DEFAULT_MAX_SEQ = 1024;

export class LabEngine implements Engine {
  private gpu: Gpu | null = null;
  private loaded: LoadedModel | null = null;
  private model: GpuModel | null = null;
  private info: ModelInfo | null = null;
  private busy = false;
  private abortRequested = false;

  async init(): Promise<AdapterProbe> {
    if (!this.gpu || this.gpu.isLost) {
      this.gpu = await acquireGpu();
    }
    return this.gpu.probe;
  }

  async load(source: ModelSource): Promise<ModelInfo> {
    if (this.busy) throw new EngineBusyError('A generation is running: stop it before loading another model');
    await this.init();
    const gpu = this.gpu!;
    const loaded = await loadModel(source); // throws typed errors naming the file/tensor; nothing changes on failure
    await this.reset();
    const t0 = performance.now();
    const maxSeq = Math.min(loaded.config.maxSeq, DEFAULT_MAX_SEQ);
    const model = new GpuModel(gpu, loaded.config, loaded.weights, maxSeq);
    await gpu.sync();
    const upload = performance.now() - t0;
    const compile0 = performance.now();
    // Autotune once per adapter and model shape family; reuse the cached choice afterwards.
    const tuneKey = `${adapterKey(gpu.probe)}|${loaded.config.hiddenSize}x${loaded.config.intermediateSize}`;
    const cached = await readAdapterCache<Record<string, string>>(tuneKey, 'autotune');
    if (cached) Object.assign(gpu.traits.tuned, cached);
    else await writeAdapterCache(tuneKey, 'autotune', await autotune(gpu, model));
    await warmUp(gpu, model);
    const compile = performance.now() - compile0;
    this.loaded = loaded;
    this.model = model;
    this.info = {
      name: loaded.name,
      architecture: loaded.config.architecture,
      parameters: countParameters(loaded.config),
      weightBytes: gpu.pool.bytesByPurpose().weights,
      config: loaded.rawConfig,
      hasTokenizer: loaded.tokenizer !== null,
      maxSeq,
      vocabSize: loaded.config.vocabSize,
      loadMs: { fetch: loaded.timings.fetch, parse: loaded.timings.parse, upload, compile },
    };
    return this.info;
  }

  async generate(req: GenerateRequest, onToken: (ev: TokenEvent) => void): Promise<GenerateResult> {
    if (!this.model || !this.loaded || !this.gpu) throw new NoModelError('No model is loaded');
    if (this.busy) throw new EngineBusyError('A generation is already running');
    const { tokenizer, config } = this.loaded;
    const promptIds = this.promptIds(req.prompt);
    const s = req.sampling;
    if (!(s.maxNewTokens >= 1 && s.maxNewTokens <= 100000)) throw new PromptError(`maxNewTokens must be 1..100000 (got ${s.maxNewTokens})`);
    if (!(s.temperature >= 0 && s.temperature <= 10)) throw new PromptError(`temperature must be 0..10 (got ${s.temperature})`);
    if (!(s.topP > 0 && s.topP <= 1)) throw new PromptError(`topP must be in (0, 1] (got ${s.topP})`);
    if (!(s.topK >= 0 && Number.isInteger(s.topK))) throw new PromptError(`topK must be a non-negative integer (got ${s.topK})`);
    this.busy = true;
    this.abortRequested = false;
    const stopIds = tokenizer?.eosTokenIds.length ? tokenizer.eosTokenIds : config.eosTokenIds;
    let textSoFar = '';
    const ids: number[] = [];
    try {
      const r = await generateLoop(this.gpu, this.model, promptIds, {
        sampling: s,
        stopIds,
        profile: req.profile,
        shouldStop: () => this.abortRequested,
        onToken: (st) => {
          ids.push(st.id);
          const next = tokenizer ? tokenizer.decode(ids) : ids.join(' ');
          const text = next.startsWith(textSoFar) ? next.slice(textSoFar.length) : next;
          textSoFar = next;
          onToken({ id: st.id, text, textSoFar, index: st.index, tMs: st.tMs });
        },
      });
      const decodeMs = r.tokenMs.reduce((a, b) => a + b, 0);
      return {
        promptIds,
        outputIds: r.ids,
        text: textSoFar,
        metrics: {
          promptTokens: promptIds.length,
          generatedTokens: r.ids.length,
          ttft_ms: r.ttftMs,
          prefill_tok_s: r.ttftMs > 0 ? (promptIds.length / r.ttftMs) * 1000 : 0,
          decode_tok_s: decodeMs > 0 ? (r.tokenMs.length / decodeMs) * 1000 : 0,
          ms_per_token_p50: percentile(r.tokenMs, 50),
          ms_per_token_p95: percentile(r.tokenMs, 95),
          tokenMs: r.tokenMs,
          gpu_bytes: this.gpuBytes(),
          kernelNs: req.profile ? r.kernelNs : undefined,
          stoppedBy: r.stoppedBy,
        },
      };
    } finally {
      this.busy = false;
    }
  }

  private promptIds(prompt: string | number[]): number[] {
    const cfg = this.loaded!.config;
    let ids: number[];
    if (typeof prompt === 'string') {
      if (!this.loaded!.tokenizer) throw new PromptError('This model has no tokenizer.json: give the prompt as token ids');
      ids = this.loaded!.tokenizer.encode(prompt);
      if (!ids.length && cfg.bosTokenId !== null) ids = [cfg.bosTokenId];
    } else ids = prompt;
    if (!ids.length) throw new PromptError('The prompt is empty (and the model has no BOS token to start from)');
    const bad = ids.find((i) => !Number.isInteger(i) || i < 0 || i >= cfg.vocabSize);
    if (bad !== undefined) throw new PromptError(`token id ${bad} is outside the vocabulary (0..${cfg.vocabSize - 1})`);
    if (ids.length >= this.model!.maxSeq) {
      throw new PromptError(`The prompt has ${ids.length} tokens; this model's context is ${this.model!.maxSeq} (leave room for at least one new token)`);
    }
    return ids;
  }

  async abort(): Promise<void> {
    this.abortRequested = true;
  }

  async reset(): Promise<void> {
    this.model?.destroy();
    this.model = null;
    this.loaded = null;
    this.info = null;
    this.gpu?.pool.trim();
  }

  private gpuBytes(): GpuBytes {
    return this.gpu ? this.gpu.memory() : { weights: 0, kv: 0, activations: 0, staging: 0, uniforms: 0 };
  }

  async stats(): Promise<EngineStats> {
    return {
      adapter: this.gpu?.probe ?? null,
      model: this.info,
      gpuBytes: this.gpuBytes(),
      variants: { ...(this.gpu?.traits.tuned ?? {}) },
      busy: this.busy,
    };
  }

  /** For tests and benches in the same realm (not exposed over the worker). */
  internals(): { gpu: Gpu | null; model: GpuModel | null } {
    return { gpu: this.gpu, model: this.model };
  }
}
