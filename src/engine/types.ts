// The one typed boundary between the UI and the engine. The worker implements it; the UI holds a comlink
// proxy of it and never imports src/gpu/. Everything that crosses is structured-clonable.

import type { AdapterProbe } from '../gpu/device';

/** Where a model comes from. Files are the user's picks (or a test's); URLs are served folders (embedded models). */
export type ModelSource =
  | { kind: 'url'; baseUrl: string; name?: string } // a folder served over HTTP: config.json, model.safetensors, tokenizer.json
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
  /** GPU ns per kernel family summed over the profiled decode steps, when profiling ran. */
  kernelNs?: Record<string, number>;
  stoppedBy: 'length' | 'eos' | 'abort' | 'context';
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

export interface EngineStats {
  adapter: AdapterProbe | null;
  model: ModelInfo | null;
  gpuBytes: GpuBytes;
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
}
