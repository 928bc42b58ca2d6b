// LabEngine: the Engine implementation that runs inside the worker. It owns the Gpu, the loaded model and the
// generation loop; everything it returns is structured-clonable. Errors are thrown as typed errors (their
// name and message cross the worker boundary) and never leave the engine unusable.

import { acquireGpu, adapterKey, type AdapterProbe, type Gpu } from '../gpu/device';
import { DeviceLostError } from '../gpu/errors';
import { countParameters } from '../model/weights';
import { loadModel, type LoadedModel } from '../model/source';
import { GpuModel } from '../model/transformer';
import { autotune, warmUp } from './autotune';
import { type DynamicLoopResult, generateEarlyExit, generateSpeculative } from './dynamic';
import { generateLoop, type LoopOptions, percentile } from './generate';
import { type Calibration, calibrate, roofline } from './roofline';
import { readAdapterCache, writeAdapterCache } from './tune-cache';
import { evaluateForced, type ReferenceDist } from './quality';
import { applyTechniques, isDense, masterCopy, type Masters, TechniqueError } from './techniques';
import {
  type ConfigureResult,
  DEFAULT_TECHNIQUES,
  type Engine,
  type EngineStats,
  type GenerateRequest,
  type GenerateResult,
  type GpuBytes,
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
  /** Serialises generate/configure/evaluate so no token ever mixes old and new weights. */
  private queue: Promise<unknown> = Promise.resolve();

  private initing: Promise<AdapterProbe> | null = null;

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

  async load(source: ModelSource): Promise<ModelInfo> {
    if (this.busy) throw new EngineBusyError('A generation is running: stop it before loading another model');
    await this.init();
    const gpu = this.gpu!;
    const loaded = await loadModel(source); // throws typed errors naming the file/tensor; nothing changes on failure
    await this.reset();
    const maxSeq = Math.min(loaded.config.maxSeq, DEFAULT_MAX_SEQ);
    const { model, upload, compile } = await this.place(gpu, loaded, maxSeq);
    this.loaded = loaded;
    this.model = model;
    this.source = source;
    this.masters = masterCopy(loaded.weights);
    this.settings = DEFAULT_TECHNIQUES;
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
      loadMs: { fetch: loaded.timings.fetch, parse: loaded.timings.parse, upload, compile },
    };
    return this.info;
  }

  /** Upload a loaded model to `gpu`, pick kernel variants (autotune, cached per adapter) and compile them. */
  private async place(gpu: Gpu, loaded: LoadedModel, maxSeq: number): Promise<{ model: GpuModel; upload: number; compile: number }> {
    const t0 = performance.now();
    const model = new GpuModel(gpu, loaded.config, loaded.weights, maxSeq);
    await gpu.sync();
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
    return this.draft;
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
      const loopOpts: LoopOptions = {
        sampling: s,
        stopIds,
        profile: req.profile,
        shouldStop: () => this.abortRequested,
        onToken: (st) => {
          ids.push(st.id);
          const next = tokenizer ? tokenizer.decode(ids) : ids.join(' ');
          const text = next.startsWith(textSoFar) ? next.slice(textSoFar.length) : next;
          textSoFar = next;
          onToken({ id: st.id, text, textSoFar, index: st.index, tMs: st.tMs, exitLayer: st.exitLayer, drafted: st.drafted });
        },
      };
      const t = this.settings;
      let r: DynamicLoopResult | Awaited<ReturnType<typeof generateLoop>>;
      if (t.speculative.enabled) {
        const draft = t.speculative.draft === 'self' ? { selfLayers: t.speculative.selfLayers } : await this.draftModel();
        r = await generateSpeculative(this.gpu, this.model, draft, promptIds, { ...loopOpts, gamma: t.speculative.gamma });
      } else if (t.earlyExit.enabled) {
        const { threshold, minLayer, criterion } = t.earlyExit;
        r = await generateEarlyExit(this.gpu, this.model, promptIds, { ...loopOpts, threshold, minLayer, criterion });
      } else r = await generateLoop(this.gpu, this.model, promptIds, loopOpts);
      const dyn = r as Partial<DynamicLoopResult>;
      const decodeMs = r.tokenMs.reduce((a, b) => a + b, 0);
      const p50 = percentile(r.tokenMs, 50);
      const meanPos = promptIds.length + Math.max(0, r.ids.length - 1) / 2;
      const roof = roofline(this.model.bytesPerToken(Math.round(meanPos)), p50, r.dispatchesPerToken, this.calibration!);
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
              ? { acceptance_rate: dyn.acceptanceRate, tokens_per_target_forward: dyn.tokensPerTargetForward ?? 0, gamma: t.speculative.gamma }
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
    this.masters = null;
    this.reference = null;
    this.draft?.destroy();
    this.draft = null;
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
    };
  }

  /** Run `fn` after everything queued before it (generation, switches, evaluations). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  configure(settings: TechniqueSettings): Promise<ConfigureResult> {
    return this.serial(async () => {
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
      const r = applyTechniques(this.gpu, this.model, this.masters, this.loaded.config, settings);
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
