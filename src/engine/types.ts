// The one typed boundary between the UI and the engine. The worker implements it; the UI holds a comlink
// proxy of it and never imports src/gpu/. Everything that crosses is structured-clonable.

import type { AdapterProbe } from '../gpu/device';

/** Where a model comes from. Files are the user's picks (or a test's); URLs are served folders (embedded models). */
export type ModelSource =
  | { kind: 'url'; baseUrl: string; name?: string; draftUrl?: string } // a served folder: config.json, model.safetensors, tokenizer.json (+ a draft model's folder for speculative decoding)
  | { kind: 'files'; files: File[]; name?: string }; // config.json + model.safetensors [+ tokenizer.json, tokenizer_config.json]

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
  /** Bytes one decode step reads (weights as stored + KV cache at the mean position + activations). */
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
  /** Speculative decoding: fraction of drafted tokens accepted, and tokens produced per target forward. */
  speculative?: { acceptance_rate: number; tokens_per_target_forward: number; gamma: number };
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
  /** Load time split, ms. */
  loadMs: { fetch: number; parse: number; upload: number; compile: number };
}

/** Weight precision: f16 needs the adapter's 'shader-f16'; int8/int4 are group-wise (see src/techniques/quantize.ts). */
export type Precision = 'f32' | 'f16' | 'int8' | 'int4' | 'int4z';

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
  speculative: { enabled: boolean; draft: 'model' | 'self'; gamma: number; selfLayers: number };
}

export const DEFAULT_TECHNIQUES: TechniqueSettings = {
  quant: { precision: 'f32', groupSize: 32, lmHead: null },
  prune: { kind: 'none', sparsity: 0, scope: 'layer', targets: { attention: true, ffn: true } },
  earlyExit: { enabled: false, threshold: 0.9, minLayer: 2, criterion: 'maxprob' },
  speculative: { enabled: false, draft: 'self', gamma: 4, selfLayers: 2 },
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
}

/** A typed error that crossed the worker boundary (name + message survive structured cloning). */
export interface EngineErrorInfo {
  name: string;
  message: string;
}

export interface Engine {
  /** Probe the adapter and create the device (idempotent). */
  init(): Promise<AdapterProbe>;
  load(source: ModelSource): Promise<ModelInfo>;
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
