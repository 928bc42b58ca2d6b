// The one typed boundary between the UI and the engine. The worker implements it; the UI holds a comlink
// proxy of it and never imports src/gpu/. Everything that crosses is structured-clonable.

import type { AdapterProbe } from '../gpu/device';
import type { MemoryBudget, MemoryEstimate, MemoryVerdict, QuantChoice } from './memory-plan';

export type { MemoryBudget, MemoryEstimate, MemoryVerdict } from './memory-plan';

/** A memory-plan request (src/engine/memory-plan.ts): the loaded model, or another one's config.json object. */
export interface EstimateRequest {
  config?: Record<string, unknown>;
  /** Default: the current technique settings' quantization. */
  quant?: Partial<QuantChoice>;
  /** KV context; default: the model's max_position_embeddings capped at the engine's 1024. */
  ctx?: number;
  /** Prefill tokens counted; default ctx − 1. */
  promptTokens?: number;
}

/** Where a model comes from. Files are the user's picks (or a test's); URLs are served folders (embedded models). */
export type ModelSource =
  | { kind: 'url'; baseUrl: string; name?: string; draftUrl?: string } // a served folder: config.json, model.safetensors, tokenizer.json (+ a draft model's folder for speculative decoding)
  | { kind: 'files'; files: File[]; name?: string } // config.json + model.safetensors (or model.safetensors.index.json + its shards) [+ tokenizer.json, tokenizer_config.json]
  // a Hugging Face Hub repo (src/model/hub.ts); revision default 'main', endpoint default https://huggingface.co;
  // refresh (src/model/hub-cache.ts): 'auto' (default) re-checks a cached branch or tag when online (a commit id
  // never), 'never' uses the cache with no request, 'always' downloads every file again
  | { kind: 'hub'; repo: string; revision?: string; endpoint?: string; token?: string; name?: string; refresh?: 'auto' | 'never' | 'always' };

/** Model-load progress (Hub and URL downloads): bytes over every file; a cached file counts at its size at once. */
export interface LoadProgress {
  phase: 'download' | 'parse' | 'upload' | 'compile';
  /** The file this update is about. */
  file: string;
  /** Bytes received or read from the cache so far. */
  loaded: number;
  /** Sum of the sizes known so far (Content-Length of every response that arrived; grows as files start). */
  total: number;
  filesDone: number;
  files: number;
  /** Of `loaded`, bytes that came from the cache. */
  cachedBytes: number;
  /** Estimated ms left at the network rate so far; null until measurable. */
  etaMs: number | null;
}

export interface SamplingOptions {
  /** 0 = greedy (argmax). */
  temperature: number;
  /** 0 = off. */
  topK: number;
  /** 1 = off. */
  topP: number;
  seed: number;
  maxNewTokens: number;
}

export const DEFAULT_SAMPLING: SamplingOptions = { temperature: 0, topK: 0, topP: 1, seed: 1, maxNewTokens: 64 };

export interface GenerateRequest {
  /** Text (needs a tokenizer) or token ids. */
  prompt: string | number[];
  sampling: SamplingOptions;
  /** Record per-kernel GPU time (timestamp-query) for this run. */
  profile?: boolean;
  /** Continuing an interrupted run (e.g. by a device loss): the tokens it had generated. They are appended to the
   *  prompt's ids; streamed `text`/`textSoFar` and the result's `text` cover only the new tokens, decoded after
   *  these (so the old text + the new text reads as one run). */
  resume?: number[];
}

/** One streamed token. */
export interface TokenEvent {
  id: number;
  /** Decoded text of this token (may be '' for partial UTF-8 sequences; `textSoFar` is authoritative). */
  text: string;
  textSoFar: string;
  /** Index among generated tokens, 0-based. */
  index: number;
  /** Milliseconds since generate() was called, when this token's id was read back. */
  tMs: number;
  /** Early exit: the layer (1-based) this token left at. */
  exitLayer?: number;
  /** Speculative decoding: an accepted draft token, or the target's own (corrected/bonus) token. */
  drafted?: 'accepted' | 'corrected';
}

export interface GpuBytes {
  weights: number;
  kv: number;
  activations: number;
  staging: number;
  uniforms: number;
}

export interface RunMetrics {
  promptTokens: number;
  generatedTokens: number;
  ttft_ms: number;
  prefill_tok_s: number;
  decode_tok_s: number;
  ms_per_token_p50: number;
  ms_per_token_p95: number;
  /** Per decoded token latency, ms (excludes the first token, which is prefill). */
  tokenMs: number[];
  gpu_bytes: GpuBytes;
  /** Bytes one decode step reads (weights as stored + KV cache at the mean position + activations). Speculative
   *  decoding: per emitted token, the target's verify (weights once + KV rows for γ̄+1 queries) plus γ̄ draft steps
   *  (the draft's own weights and KV; a shared self-draft: the target's first k layers and head), per round, ÷
   *  tokens per target forward (LabEngine.speculativeBytes). Early exit: the full model's figure. */
  bytes_per_token: number;
  /** bytes_per_token ÷ median decode step time, GB/s. */
  achieved_gbps: number;
  /** achieved_gbps ÷ the adapter's measured copy-kernel bandwidth. */
  roofline_fraction: number;
  copy_gbps: number;
  /** What limits decode: 'bandwidth' (≥ half the copy bandwidth), 'dispatch' (fixed per-dispatch cost ≥ half the step), else 'latency'. */
  bound: 'bandwidth' | 'dispatch' | 'latency';
  dispatches_per_token: number;
  /** GPU ns per kernel family summed over the profiled decode steps, when profiling ran. */
  kernelNs?: Record<string, number>;
  /** How many decode steps kernelNs sums over. */
  kernel_steps?: number;
  stoppedBy: 'length' | 'eos' | 'abort' | 'context';
  /** Early exit: mean layers run per token; histogram[c] = decoded tokens that ran c layers (index 0 unused). */
  early_exit?: { avg_layers: number; histogram: number[] };
  /** Speculative decoding: fraction of drafted tokens accepted, tokens produced per target forward, the γ setting
   *  and gamma_mean, the mean γ' the rounds actually drafted (differs from gamma when adaptive, or near the end). */
  speculative?: { acceptance_rate: number; tokens_per_target_forward: number; gamma: number; gamma_mean: number };
}

export interface GenerateResult {
  promptIds: number[];
  outputIds: number[];
  text: string;
  metrics: RunMetrics;
}

export interface ModelInfo {
  name: string;
  architecture: string;
  parameters: number;
  weightBytes: number;
  config: Record<string, unknown>;
  hasTokenizer: boolean;
  maxSeq: number;
  vocabSize: number;
  /** Load time split, ms. fetch: download (or cache / disk read) of the files; fetchFrom says which, when known. */
  loadMs: { fetch: number; parse: number; upload: number; compile: number; fetchFrom?: 'network' | 'cache' | 'mixed' | 'local'; /** the Hub cache's word: "offline: cached copy (…)", "updated: …" */ fetchNote?: string };
  /** The technique settings in force after the load: dense f32, the precision the load was asked for, or 'file'
   *  for a quantized model file (its own codes). */
  settings: TechniqueSettings;
}

/** Weight precision: f16 is f16 storage on every adapter (native loads with 'shader-f16', src/ref/f16.ts); int8/int4
 *  are group-wise (see src/techniques/quantize.ts).
 *  'file': every linear as its model file stored it (a GGUF's Q8_0/Q4_0 codes as q8/q4 g32, the rest f32); the
 *  setting right after loading a quantized file (src/techniques/quant-formats.ts). */
export type Precision = 'f32' | 'f16' | 'int8' | 'int4' | 'int4z' | 'file';

/** Every technique's settings. Switching any of them re-packs from the master copy; the model is never reloaded. */
export interface TechniqueSettings {
  quant: { precision: Precision; groupSize: number; /** precision of lm_head (null = same as the body) */ lmHead: Precision | null };
  prune: {
    kind: 'none' | 'unstructured' | '2:4' | 'structured';
    sparsity: number; // 0..0.95 (unstructured/structured)
    scope: 'layer' | 'global';
    targets: { attention: boolean; ffn: boolean };
  };
  earlyExit: { enabled: boolean; threshold: number; minLayer: number; criterion: 'maxprob' | 'entropy' };
  speculative: {
    enabled: boolean;
    draft: 'model' | 'self';
    gamma: number;
    selfLayers: number;
    /** Adaptive γ (src/techniques/speculative.ts): grow on full acceptance, shrink on early rejection; gamma starts it. Default false. */
    adaptive?: boolean;
    /** The draft's weight precision: 'same' (default) = the target's (the self-draft shares its layers); 'int8'/'int4' = its
     *  own packed copy (src/engine/draft.ts). */
    draftPrecision?: 'same' | 'int8' | 'int4';
  };
}

export const DEFAULT_TECHNIQUES: TechniqueSettings = {
  quant: { precision: 'f32', groupSize: 32, lmHead: null },
  prune: { kind: 'none', sparsity: 0, scope: 'layer', targets: { attention: true, ffn: true } },
  earlyExit: { enabled: false, threshold: 0.9, minLayer: 2, criterion: 'maxprob' },
  speculative: { enabled: false, draft: 'self', gamma: 4, selfLayers: 2, adaptive: false, draftPrecision: 'same' },
};

/** What a technique switch did. */
export interface ConfigureResult {
  settings: TechniqueSettings;
  repackMs: number;
  weightBytes: number;
  /** Weight bytes by storage format, e.g. { f32: …, q4: … }. */
  bytesByFormat: Record<string, number>;
  /** Kernel chosen per format where a choice exists (e.g. sparse: 'dense' below the crossover). */
  notes: string[];
}

export interface QualityReport {
  perplexity: number;
  nll: number;
  tokens: number;
  /** Against the dense f32 model under forced decoding of the same text; null for the dense model itself. */
  top1_agreement: number | null;
  kl: number | null;
  settings: TechniqueSettings;
  /** Early exit on: the figures above are with tokens exiting where the rule says (forced decoding), and these are
   *  the layers they ran (mean over predicted tokens; histogram[c] = tokens that ran c layers). */
  early_exit?: { avg_layers: number; histogram: number[] };
}

export interface EngineStats {
  adapter: AdapterProbe | null;
  model: ModelInfo | null;
  gpuBytes: GpuBytes;
  /** Adapter calibration for the roofline meter (copy bandwidth GB/s, per-dispatch ms), once measured. */
  calibration: { copyGbps: number; dispatchMs: number } | null;
  /** Chosen kernel variants, e.g. { gemv: 'rows4_vec4' }. */
  variants: Record<string, string>;
  busy: boolean;
  /** The memory budget and, with a model loaded, the plan's estimate at the current settings (vs gpuBytes). */
  memory?: { budget: MemoryBudget; estimate: MemoryEstimate | null };
}

/** A typed error that crossed the worker boundary (name + message survive structured cloning). */
export interface EngineErrorInfo {
  name: string;
  message: string;
}

export interface Engine {
  /** Probe the adapter and create the device (idempotent). */
  init(): Promise<AdapterProbe>;
  /** Load a model; `onProgress` hears download progress (a comlink proxy across the worker). */
  /** `quant`: upload the weights at this precision (packed as they go up: the f32 weights are never all on the GPU);
   *  default f32. A quantized model file (GGUF Q8_0/Q4_0) always loads as its own codes ('file'). */
  load(source: ModelSource, onProgress?: (p: LoadProgress) => void, quant?: TechniqueSettings['quant']): Promise<ModelInfo>;
  /** Cancel a running load: it rejects with LoadCancelledError and the previous model stays. */
  cancelLoad(): Promise<void>;
  /** The memory plan (weights, KV, activations, splits) against the budget, computed without allocating. */
  estimate(req: EstimateRequest): Promise<MemoryVerdict>;
  /** Set the memory budget in bytes (null: the default from navigator.deviceMemory); returns the budget in force. */
  setMemoryBudget(bytes: number | null): Promise<MemoryBudget>;
  /** Generate, calling onToken for each new token. Resolves when done or aborted. */
  generate(req: GenerateRequest, onToken: (ev: TokenEvent) => void): Promise<GenerateResult>;
  /** Stop the running generation after the current token. */
  abort(): Promise<void>;
  /** Drop the model and free its GPU memory. */
  reset(): Promise<void>;
  stats(): Promise<EngineStats>;
  /** Apply technique settings live (re-pack from the master copy). Waits for a running generation to finish. */
  configure(settings: TechniqueSettings): Promise<ConfigureResult>;
  /** Perplexity (and agreement/KL against dense f32) under forced decoding of `text` (default: the model's held-out text). */
  evaluate(opts: { text?: string; ids?: number[]; maxTokens?: number }): Promise<QualityReport>;
}
