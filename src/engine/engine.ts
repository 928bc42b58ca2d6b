// LabEngine: the Engine implementation that runs inside the worker. It owns the Gpu, the loaded model and the
// generation loop; everything it returns is structured-clonable. Errors are thrown as typed errors (their
// name and message cross the worker boundary) and never leave the engine unusable.

import { acquireGpu, adapterKey, type AdapterProbe, type Gpu } from '../gpu/device';
import { DeviceLostError } from '../gpu/errors';
import { countParameters } from '../model/weights';
import { loadModel, type LoadedModel } from '../model/source';
import { LoadCancelledError } from '../model/errors';
import { GpuModel, layerLinears, type LinearMaker } from '../model/transformer';
import { parseConfig } from '../model/config';
import { autotune, warmUp } from './autotune';
import { checkBudget, defaultBudget, estimateMemory, GpuOutOfMemoryError, type MemoryBudget, MemoryBudgetError, type MemoryVerdict } from './memory-plan';
import { type Draft, type DynamicLoopResult, generateEarlyExit, generateSpeculative } from './dynamic';
import { buildSelfDraft, draftSpec, needsSelfDraftCopy, packDraft, selfDraftKey } from './draft';
import { linearBytes, uploadLinear } from '../model/linear';
import { applyPrecision, embeddingSpec, embeddingStorage, mastersFromHost, packLinear, type QuantMasters, specFor, TIED_HEAD, uploadPacked } from '../techniques/quant-formats';
import { generateLoop, type LoopOptions, percentile } from './generate';
import { type Calibration, calibrate, roofline } from './roofline';
import { readAdapterCache, writeAdapterCache } from './tune-cache';
import { evaluateEarlyExit, evaluateForced, type ReferenceDist } from './quality';
import { applyTechniques, type ApplyResult, isDense, masterCopy, type Masters, quantPlan, TechniqueError } from './techniques';
import {
  type ConfigureResult,
  type EstimateRequest,
  DEFAULT_TECHNIQUES,
  type Engine,
  type EngineStats,
  type GenerateRequest,
  type GenerateResult,
  type GpuBytes,
  type LoadProgress,
  type ModelInfo,
  type ModelSource,
  type QualityReport,
  type TechniqueSettings,
  type TokenEvent,
} from './types';

export class EngineBusyError extends Error {
  override name = 'EngineBusyError';
}
export class NoModelError extends Error {
  override name = 'NoModelError';
}
export class PromptError extends Error {
  override name = 'PromptError';
}

/** Settings right after loading a file with quantized linears (GGUF Q8_0/Q4_0): each linear as the file stores it. */
export const FILE_TECHNIQUES: TechniqueSettings = { ...DEFAULT_TECHNIQUES, quant: { precision: 'file', groupSize: 32, lmHead: null } };

/** Context the lab allocates KV cache for (capped by the model's max_position_embeddings). */
export const DEFAULT_MAX_SEQ = 1024;

export class LabEngine implements Engine {
  private gpu: Gpu | null = null;
  private loaded: LoadedModel | null = null;
  private model: GpuModel | null = null;
  private info: ModelInfo | null = null;
  private busy = false;
  private abortRequested = false;
  private calibration: Calibration | null = null;
  private settings: TechniqueSettings = DEFAULT_TECHNIQUES;
  private masters: Masters | null = null;
  private reference: ReferenceDist | null = null;
  private source: ModelSource | null = null;
  /** The draft model for speculative decoding (same vocabulary), loaded on first use. */
  private draft: GpuModel | null = null;
  /** The draft model's f32 host masters (re-packed to the draft precision from these). */
  private draftMasters: QuantMasters | null = null;
  /** A self-draft at another precision than the target's: its own packed copy of the first k layers (src/engine/draft.ts). */
  private selfDraft: { key: string; model: GpuModel } | null = null;
  /** What the last applyTechniques did (a switch that changes only early exit / speculative reuses it). */
  private lastApply: ApplyResult | null = null;
  /** Serialises generate/configure/evaluate so no token ever mixes old and new weights. */
  private queue: Promise<unknown> = Promise.resolve();

  private initing: Promise<AdapterProbe> | null = null;
  /** The user's memory budget in bytes (null: the default, see memory-plan.ts). */
  private budgetBytes: number | null = null;

  /** Probe the adapter and create the device once (concurrent calls share the same attempt). */
  init(): Promise<AdapterProbe> {
    this.initing ??= this.initNow().finally(() => (this.initing = null));
    return this.initing;
  }

  private async initNow(): Promise<AdapterProbe> {
    if (!this.gpu || this.gpu.isLost) {
      this.gpu = await acquireGpu();
      const key = adapterKey(this.gpu.probe);
      this.calibration = (await readAdapterCache<Calibration>(key, 'calibration')) ?? null;
      if (!this.calibration) {
        this.calibration = await calibrate(this.gpu);
        await writeAdapterCache(key, 'calibration', this.calibration);
      }
    }
    return this.gpu.probe;
  }

  /** The running load's cancel switch (cancelLoad aborts it). */
  private loadAbort: AbortController | null = null;

  async load(source: ModelSource, onProgress?: (p: LoadProgress) => void, quant?: TechniqueSettings['quant']): Promise<ModelInfo> {
    if (this.busy) throw new EngineBusyError('A generation is running: stop it before loading another model');
    this.loadAbort?.abort(); // a newer load supersedes a running one
    const abort = new AbortController();
    this.loadAbort = abort;
    let loaded: LoadedModel;
    try {
      await this.init();
      // throws typed errors naming the file/tensor (LoadCancelledError on cancelLoad); nothing changes on failure
      loaded = await loadModel(source, { signal: abort.signal, onProgress });
      if (abort.signal.aborted) throw new LoadCancelledError('loading was cancelled', loaded.name);
    } finally {
      if (this.loadAbort === abort) this.loadAbort = null;
    }
    const gpu = this.gpu!;
    const maxSeq = Math.min(loaded.config.maxSeq, DEFAULT_MAX_SEQ);
    // The precision the weights go up in: a quantized file's own codes, else the one asked for (default f32).
    // Each linear is packed as it is uploaded, so the f32 weights never all sit on the GPU at once.
    const settings: TechniqueSettings = loaded.prepacked ? FILE_TECHNIQUES
      : quant && quant.precision !== 'file' ? { ...DEFAULT_TECHNIQUES, quant: { ...quant } } : DEFAULT_TECHNIQUES;
    // the memory plan, before anything is allocated
    const verdict = checkBudget(loaded.config, { quant: settings.quant, ctx: maxSeq, bindingLimit: gpu.maxBindingBytes }, this.memoryBudget());
    if (!verdict.fits) throw new MemoryBudgetError(verdict, `choose a lower precision before loading: the weights are packed as they are uploaded`);
    const masters = masterCopy(loaded.weights, loaded.prepacked);
    const plan = quantPlan(settings.quant);
    const makeLinear: LinearMaker = (name, rows, cols, W, bias) => {
      const spec = specFor(name, plan);
      const packed = masters.get(name)?.packed;
      if (spec.precision === 'file') return packed ? uploadPacked(gpu, name, packed, bias, 'file') : uploadLinear(gpu, name, rows, cols, W, bias);
      return spec.precision === 'f32' ? uploadLinear(gpu, name, rows, cols, W, bias) : packLinear(gpu, name, rows, cols, W, bias, spec);
    };
    await this.reset();
    const { model, upload, compile } = await this.place(gpu, loaded, maxSeq, makeLinear, settings.quant);
    this.loaded = loaded;
    this.model = model;
    this.source = source;
    this.masters = masters;
    this.settings = settings;
    // what the maker cannot reach, a tied head (built on the embedding), follows the plan
    const tied = masters.get(TIED_HEAD);
    if (settings.quant.precision === 'file') {
      if (tied?.packed) model.replaceLinears((old) => (old.name === TIED_HEAD ? uploadPacked(gpu, TIED_HEAD, tied.packed!, null, 'file') : old));
    } else if (!isDense(settings)) applyPrecision(gpu, model, masters, plan);
    this.reference = null;
    this.info = {
      name: loaded.name,
      architecture: loaded.config.architecture,
      parameters: countParameters(loaded.config),
      weightBytes: gpu.pool.bytesByPurpose().weights,
      config: loaded.rawConfig,
      hasTokenizer: loaded.tokenizer !== null,
      maxSeq,
      vocabSize: loaded.config.vocabSize,
      loadMs: { fetch: loaded.timings.fetch, parse: loaded.timings.parse, upload, compile, fetchFrom: loaded.timings.fetchFrom, ...(loaded.timings.note ? { fetchNote: loaded.timings.note } : {}) },
      settings: structuredClone(settings),
    };
    return this.info;
  }

  /** Cancel a running load (its download stops; it rejects with LoadCancelledError). No-op when none runs. */
  async cancelLoad(): Promise<void> {
    this.loadAbort?.abort();
  }

  /** Upload a loaded model to `gpu`, pick kernel variants (autotune, cached per adapter) and compile them. */
  private async place(
    gpu: Gpu, loaded: LoadedModel, maxSeq: number, makeLinear?: LinearMaker, quant: TechniqueSettings['quant'] = DEFAULT_TECHNIQUES.quant,
  ): Promise<{ model: GpuModel; upload: number; compile: number }> {
    const t0 = performance.now();
    // an allocation the estimate did not foresee failing (the budget is a guess): caught, the model released
    gpu.device.pushErrorScope('out-of-memory');
    let model: GpuModel | null = null;
    let thrown: unknown = null;
    try {
      // the embedding table goes up in the plan's storage too (a tied head shares it); 'file' keeps it f32
      const tied = loaded.weights.lmHead === loaded.weights.embed;
      const embed = quant.precision === 'file' ? undefined : embeddingStorage(gpu, embeddingSpec(quantPlan(quant), tied));
      model = new GpuModel(gpu, loaded.config, loaded.weights, maxSeq, makeLinear, embed);
      await gpu.sync();
    } catch (e) {
      thrown = e;
    }
    const oom = await gpu.device.popErrorScope();
    if (oom || thrown || !model) {
      model?.destroy();
      if (oom) throw new GpuOutOfMemoryError(`${loaded.name}: ${oom.message}`, estimateMemory(loaded.config, { quant, ctx: maxSeq, bindingLimit: gpu.maxBindingBytes }));
      throw thrown;
    }
    const upload = performance.now() - t0;
    const compile0 = performance.now();
    const tuneKey = `${adapterKey(gpu.probe)}|${loaded.config.hiddenSize}x${loaded.config.intermediateSize}`;
    const cached = await readAdapterCache<Record<string, string>>(tuneKey, 'autotune');
    if (cached) Object.assign(gpu.traits.tuned, cached);
    else await writeAdapterCache(tuneKey, 'autotune', await autotune(gpu, model));
    await warmUp(gpu, model);
    return { model, upload, compile: performance.now() - compile0 };
  }

  /**
   * After a device loss: a new device, the model re-uploaded from the in-memory master copy (no re-download),
   * the technique settings re-applied. Every engine call runs this first when the device is gone.
   */
  private async recover(): Promise<void> {
    if (!this.gpu?.isLost) return;
    const t0 = performance.now();
    this.model = null;
    this.draft = null; // on the lost device; reloaded on first use
    this.selfDraft = null; // rebuilt on first use
    this.gpu = null;
    await this.init();
    if (this.loaded && this.info) {
      this.model = (await this.place(this.gpu!, this.loaded, this.info.maxSeq)).model;
      if (!isDense(this.settings)) applyTechniques(this.gpu!, this.model, this.masters!, this.loaded.config, this.settings);
    }
    this.recoveries.push(performance.now() - t0);
  }

  /** The draft model for speculative decoding: the source's draftUrl (the embedded lab-draft for lab-target). */
  private async draftModel(): Promise<GpuModel> {
    if (this.draft) return this.draft;
    const src = this.source;
    if (src?.kind !== 'url' || !src.draftUrl) {
      throw new TechniqueError("This model has no draft model: use the self-draft (the target's first k layers)");
    }
    const d = await loadModel({ kind: 'url', baseUrl: src.draftUrl });
    if (d.config.vocabSize !== this.loaded!.config.vocabSize) {
      throw new TechniqueError(`draft model ${d.name} has vocabulary ${d.config.vocabSize}, the target ${this.loaded!.config.vocabSize}`);
    }
    this.draft = (await this.place(this.gpu!, d, this.info!.maxSeq)).model;
    this.draftMasters = mastersFromHost(d.weights);
    packDraft(this.gpu!, this.draft, this.draftMasters, draftSpec(this.settings));
    return this.draft;
  }

  /** The draft generate runs for `t`: the target's own first k layers, their packed copy at another precision,
   *  or the draft model re-packed to the draft precision. */
  private async draftFor(t: TechniqueSettings): Promise<Draft> {
    const sp = t.speculative;
    if (sp.draft === 'model') {
      const d = await this.draftModel();
      packDraft(this.gpu!, d, this.draftMasters!, draftSpec(t)); // no-op when already packed so
      return d;
    }
    if (!needsSelfDraftCopy(t)) return { selfLayers: sp.selfLayers };
    const key = selfDraftKey(t);
    if (this.selfDraft?.key !== key) {
      this.dropSelfDraft();
      const model = buildSelfDraft(this.gpu!, this.loaded!.config, this.loaded!.weights, sp.selfLayers, draftSpec(t), this.model!.maxSeq);
      this.selfDraft = { key, model };
    }
    return this.selfDraft.model;
  }

  private dropSelfDraft(): void {
    this.selfDraft?.model.destroy();
    this.selfDraft = null;
  }

  /** Milliseconds each device-loss recovery took (for the reliability report). */
  readonly recoveries: number[] = [];

  generate(req: GenerateRequest, onToken: (ev: TokenEvent) => void): Promise<GenerateResult> {
    if (this.busy) return Promise.reject(new EngineBusyError('A generation is already running'));
    return this.serial(() => this.generateNow(req, onToken));
  }

  private async generateNow(req: GenerateRequest, onToken: (ev: TokenEvent) => void): Promise<GenerateResult> {
    await this.recover();
    if (!this.model || !this.loaded || !this.gpu) throw new NoModelError('No model is loaded');
    if (this.busy) throw new EngineBusyError('A generation is already running');
    const { tokenizer, config } = this.loaded;
    const promptIds = this.promptIds(req.prompt, req.resume);
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
    // New tokens are decoded after a context: the prompt's last token (SentencePiece strips a leading space at the
    // start of a decode, which would glue the first new word to the prompt) and, in a continued run, the old tokens.
    const resumed = req.resume ?? [];
    const context = promptIds.slice(Math.max(0, promptIds.length - resumed.length - 1));
    const contextText = tokenizer ? tokenizer.decode(context) : '';
    try {
      const loopOpts: LoopOptions = {
        sampling: s,
        stopIds,
        profile: req.profile,
        shouldStop: () => this.abortRequested,
        onToken: (st) => {
          ids.push(st.id);
          const all = tokenizer ? tokenizer.decode([...context, ...ids]) : '';
          const next = !tokenizer ? ids.join(' ') : all.startsWith(contextText) ? all.slice(contextText.length) : tokenizer.decode(ids);
          const text = next.startsWith(textSoFar) ? next.slice(textSoFar.length) : next;
          textSoFar = next;
          onToken({ id: st.id, text, textSoFar, index: st.index, tMs: st.tMs, exitLayer: st.exitLayer, drafted: st.drafted });
        },
      };
      const t = this.settings;
      let r: DynamicLoopResult | Awaited<ReturnType<typeof generateLoop>>;
      let draft: Draft | null = null;
      if (t.speculative.enabled) {
        draft = await this.draftFor(t);
        r = await generateSpeculative(this.gpu, this.model, draft, promptIds, { ...loopOpts, gamma: t.speculative.gamma, adaptive: t.speculative.adaptive });
      } else if (t.earlyExit.enabled) {
        const { threshold, minLayer, criterion } = t.earlyExit;
        r = await generateEarlyExit(this.gpu, this.model, promptIds, { ...loopOpts, threshold, minLayer, criterion });
      } else r = await generateLoop(this.gpu, this.model, promptIds, loopOpts);
      const dyn = r as Partial<DynamicLoopResult>;
      const decodeMs = r.tokenMs.reduce((a, b) => a + b, 0);
      const p50 = percentile(r.tokenMs, 50);
      const meanPos = promptIds.length + Math.max(0, r.ids.length - 1) / 2;
      const pos = Math.round(meanPos);
      const gammaMean = dyn.gammas?.length ? dyn.gammas.reduce((a, b) => a + b, 0) / dyn.gammas.length : 0;
      const bytes = draft && dyn.tokensPerTargetForward ? this.speculativeBytes(draft, pos, gammaMean, dyn.tokensPerTargetForward) : this.model.bytesPerToken(pos);
      const roof = roofline(bytes, p50, r.dispatchesPerToken, this.calibration!);
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
          ms_per_token_p50: p50,
          ms_per_token_p95: percentile(r.tokenMs, 95),
          tokenMs: r.tokenMs,
          gpu_bytes: this.gpuBytes(),
          ...roof,
          dispatches_per_token: r.dispatchesPerToken,
          kernelNs: req.profile ? r.kernelNs : undefined,
          kernel_steps: req.profile ? (r.profiledSteps ?? Math.max(1, r.ids.length - 1)) : undefined,
          stoppedBy: r.stoppedBy,
          early_exit: dyn.exitLayers ? { avg_layers: dyn.avgLayers ?? 0, histogram: dyn.exitHistogram ?? [] } : undefined,
          speculative:
            dyn.acceptanceRate !== undefined
              ? { acceptance_rate: dyn.acceptanceRate, tokens_per_target_forward: dyn.tokensPerTargetForward ?? 0, gamma: t.speculative.gamma, gamma_mean: gammaMean }
              : undefined,
        },
      };
    } catch (e) {
      // A loss shows up as a failed readback first; give the device's lost promise a moment to settle.
      const gpu = this.gpu;
      const lost = gpu.isLost || (await Promise.race([gpu.lost.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 200))]));
      if (lost) throw new DeviceLostError('lost', `during generation after ${ids.length} tokens; the model is re-uploaded from memory on the next call`);
      throw e;
    } finally {
      this.busy = false;
    }
  }

  /**
   * Speculative bytes per emitted token (RunMetrics.bytes_per_token): per round the target's verify reads its
   * weights once and the KV rows for γ̄+1 queries, and the draft runs γ̄ steps, each reading its weights and KV
   * (a separate draft or self-draft copy: its own bytesPerToken; the shared self-draft: the target's first k
   * layers, final norm and head); the round's sum ÷ tokens per target forward. At mean position `pos`.
   */
  private speculativeBytes(draft: Draft, pos: number, gamma: number, tokensPerRound: number): number {
    const m = this.model!;
    const weights = m.bytesPerToken(-1); // (pos + 1) = 0 KV rows: weights, norms, embedding row
    const target = weights + (gamma + 1) * (m.bytesPerToken(pos) - weights);
    let step: number;
    if (!('selfLayers' in draft)) step = draft.bytesPerToken(pos);
    else {
      const { hiddenSize: H } = m.cfg;
      const k = draft.selfLayers;
      const ls = m.layers.slice(0, k).flatMap(layerLinears);
      step = [...ls, m.lmHead].reduce((a, l) => a + linearBytes(l), 0) + k * (2 * H * 4 + 2 * (pos + 1) * m.kvDim * 4) + 2 * H * 4;
    }
    return (target + gamma * step) / tokensPerRound;
  }

  private promptIds(prompt: string | number[], resume: number[] = []): number[] {
    const cfg = this.loaded!.config;
    let ids: number[];
    if (typeof prompt === 'string') {
      if (!this.loaded!.tokenizer) throw new PromptError('This model has no tokenizer.json: give the prompt as token ids');
      const tok = this.loaded!.tokenizer;
      ids = tok.encode(prompt);
      if (tok.bosForText !== null) ids = [tok.bosForText, ...ids]; // the tokenizer's convention (SentencePiece, Llama 2)
      else if (!ids.length && cfg.bosTokenId !== null) ids = [cfg.bosTokenId];
    } else ids = prompt;
    if (!ids.length) throw new PromptError('The prompt is empty (and the model has no BOS token to start from)');
    if (!Array.isArray(resume)) throw new PromptError('resume must be an array of token ids');
    ids = [...ids, ...resume];
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
    this.masters = null;
    this.reference = null;
    this.draft?.destroy();
    this.draft = null;
    this.draftMasters = null;
    this.dropSelfDraft();
    this.lastApply = null;
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
      calibration: this.calibration ? { copyGbps: this.calibration.copyGbps, dispatchMs: this.calibration.dispatchMs } : null,
      variants: { ...(this.gpu?.traits.tuned ?? {}) },
      busy: this.busy,
      memory: {
        budget: this.memoryBudget(),
        estimate: this.loaded && this.info ? estimateMemory(this.loaded.config, { quant: this.settings.quant, ctx: this.info.maxSeq, bindingLimit: this.gpu?.maxBindingBytes }) : null,
      },
    };
  }

  /** The memory budget in force: the user's, or the default (src/engine/memory-plan.ts). */
  private memoryBudget(): MemoryBudget {
    if (this.budgetBytes !== null) return { bytes: this.budgetBytes, source: 'user', note: 'set in the memory panel' };
    return defaultBudget((globalThis.navigator as { deviceMemory?: number } | undefined)?.deviceMemory);
  }

  async setMemoryBudget(bytes: number | null): Promise<MemoryBudget> {
    if (bytes !== null && !(Number.isFinite(bytes) && bytes > 0)) throw new PromptError(`the memory budget must be a positive number of bytes (got ${bytes})`);
    this.budgetBytes = bytes;
    return this.memoryBudget();
  }

  /** The memory plan of the loaded model (or of `config`, a config.json object) at a precision and context. */
  async estimate(req: EstimateRequest): Promise<MemoryVerdict> {
    const cfg = req.config ? parseConfig(req.config) : this.loaded?.config;
    if (!cfg) throw new NoModelError('No model is loaded (pass a config to estimate another model)');
    const ctx = req.ctx ?? Math.min(cfg.maxSeq, DEFAULT_MAX_SEQ);
    const quant = { ...this.settings.quant, ...req.quant };
    return checkBudget(cfg, { quant, ctx, promptTokens: req.promptTokens, bindingLimit: this.gpu?.maxBindingBytes }, this.memoryBudget());
  }

  /** Run `fn` after everything queued before it (generation, switches, evaluations). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  configure(requested: TechniqueSettings): Promise<ConfigureResult> {
    return this.serial(async () => {
      // the optional speculative fields get their defaults (settings from before they existed stay valid)
      const rs = requested.speculative;
      const settings: TechniqueSettings = { ...requested, speculative: { ...rs, adaptive: rs.adaptive ?? false, draftPrecision: rs.draftPrecision ?? 'same' } };
      await this.recover();
      if (!this.model || !this.gpu || !this.masters || !this.loaded) throw new NoModelError('No model is loaded');
      const t0 = performance.now();
      const sp = settings.speculative;
      const nL = this.loaded.config.nLayers;
      if (sp.enabled && !(sp.gamma >= 1 && sp.gamma <= 16)) throw new TechniqueError(`speculative γ must be 1..16 (got ${sp.gamma})`);
      if (sp.enabled && sp.draft === 'self' && !(sp.selfLayers >= 1 && sp.selfLayers < nL)) throw new TechniqueError(`self-draft layers must be 1..${nL - 1} (got ${sp.selfLayers})`);
      if (sp.enabled && sp.draft === 'model') await this.draftModel();
      const ee = settings.earlyExit;
      if (ee.enabled && !(ee.minLayer >= 1 && ee.minLayer < nL)) throw new TechniqueError(`early-exit minimum layer must be 1..${nL - 1} (got ${ee.minLayer})`);
      if (ee.enabled && sp.enabled) throw new TechniqueError('early exit and speculative decoding cannot run together: pick one');
      if (sp.enabled && !['same', 'int8', 'int4'].includes(sp.draftPrecision!)) throw new TechniqueError(`draft precision must be same, int8 or int4 (got ${sp.draftPrecision})`);
      const mem = checkBudget(this.loaded.config, { quant: settings.quant, ctx: this.model.maxSeq, bindingLimit: this.gpu.maxBindingBytes }, this.memoryBudget());
      if (!mem.fits && !mem.estimate.approximate) throw new MemoryBudgetError(mem); // before any re-packing (the plan models quantization, not pruning)
      // only early exit / speculative changed: the weights stay as they are (an A/B toggles just these)
      const sameWeights = this.lastApply && JSON.stringify([settings.quant, settings.prune]) === JSON.stringify([this.settings.quant, this.settings.prune]);
      const r = sameWeights ? this.lastApply! : applyTechniques(this.gpu, this.model, this.masters, this.loaded.config, settings);
      this.lastApply = r;
      if (needsSelfDraftCopy(settings) || (sp.enabled && sp.draft === 'model')) await this.draftFor(settings);
      else this.dropSelfDraft();
      await this.gpu.sync();
      this.settings = settings;
      const weightBytes = this.gpu.pool.bytesByPurpose().weights;
      if (this.info) this.info.weightBytes = weightBytes;
      return { settings, repackMs: performance.now() - t0, weightBytes, bytesByFormat: r.bytesByFormat, notes: r.notes };
    });
  }

  evaluate(opts: { text?: string; ids?: number[]; maxTokens?: number }): Promise<QualityReport> {
    return this.serial(async () => {
      await this.recover();
      if (!this.model || !this.gpu || !this.loaded) throw new NoModelError('No model is loaded');
      const tok = this.loaded.tokenizer;
      let ids = opts.ids;
      if (!ids) {
        if (opts.text === undefined) throw new PromptError('evaluate needs a text or token ids');
        if (!tok) throw new PromptError('This model has no tokenizer.json: give the evaluation text as token ids');
        ids = tok.encode(opts.text);
      }
      ids = ids.slice(0, opts.maxTokens ?? 2048);
      if (ids.length < 2) throw new PromptError('evaluation needs at least 2 tokens');
      const window = this.model.maxSeq;
      const key = `${ids.length}:${ids.slice(0, 16).join(',')}:${window}`;
      const dense = isDense(this.settings);
      const ee = this.settings.earlyExit;
      if (ee.enabled && this.reference?.key !== key) {
        // early exit compares against the full-depth dense f32 model (switching weights only when they differ)
        const current = this.settings;
        if (!dense) applyTechniques(this.gpu, this.model, this.masters!, this.loaded.config, DEFAULT_TECHNIQUES);
        this.reference = (await evaluateForced(this.gpu, this.model, ids, window, { keep: true, key })).dist;
        if (!dense) applyTechniques(this.gpu, this.model, this.masters!, this.loaded.config, current);
      }
      if (ee.enabled) {
        // tokens exit where the confidence rule says, under teacher forcing (src/engine/quality.ts evaluateEarlyExit)
        const rule = { threshold: ee.threshold, minLayer: ee.minLayer, criterion: ee.criterion };
        const x = await evaluateEarlyExit(this.gpu, this.model, ids, window, rule, this.reference);
        return { ...x.figures, settings: this.settings, early_exit: x.exit };
      }
      if (!dense && this.reference?.key !== key) {
        // the reference is the dense f32 model: switch to it, measure, switch back (from the master copy)
        const current = this.settings;
        applyTechniques(this.gpu, this.model, this.masters!, this.loaded.config, DEFAULT_TECHNIQUES);
        this.reference = (await evaluateForced(this.gpu, this.model, ids, window, { keep: true, key })).dist;
        applyTechniques(this.gpu, this.model, this.masters!, this.loaded.config, current);
      }
      const r = await evaluateForced(this.gpu, this.model, ids, window, {
        keep: dense,
        key,
        reference: dense ? null : this.reference,
      });
      if (dense) this.reference = r.dist;
      return { ...r.figures, settings: this.settings };
    });
  }

  /** For tests and benches in the same realm (not exposed over the worker). */
  internals(): { gpu: Gpu | null; model: GpuModel | null } {
    return { gpu: this.gpu, model: this.model };
  }
}
