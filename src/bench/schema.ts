// The benchmark-session file format, version 1: TypeScript types and the bounds the validator enforces.
// docs/session-schema.md explains every field; docs/session.schema.json is the same format as a JSON Schema
// (draft 2020-12). validate.ts checks exactly what that schema says, and tests/unit/session-schema.test.ts
// walks the schema to keep the two in sync. Field names are snake_case because they are a file format.
// Plain data only (no DOM, no idb): the headless bench CLI builds these in Node.

/** The `format` tag of every session file. */
export const SESSION_FORMAT = 'efficiency-lab-session';
/** The one version this build reads and writes. */
export const SESSION_VERSION = 1;

/** Which runtime produced a run: the lab's own kernels or a baseline. */
export const ENGINES = ['lab', 'ort-webgpu', 'ort-wasm', 'transformersjs'] as const;
export type EngineKind = (typeof ENGINES)[number];

/** Why generation ended (RunMetrics.stoppedBy). */
export const STOP_REASONS = ['length', 'eos', 'abort', 'context'] as const;
export type StopReason = (typeof STOP_REASONS)[number];

/** The scalar metrics: each a finite number >= 0, or null when not measured. `spread` may describe any of them. */
export const SCALAR_METRICS = [
  'decode_tok_s', // tokens/s over the decode steps (first token excluded)
  'prefill_tok_s', // prompt tokens/s of the prefill
  'ttft_ms', // time to first token, ms since generate() was called
  'ms_per_token_p50', // median decode latency per token, ms
  'ms_per_token_p95', // 95th percentile decode latency per token, ms
  'bytes_per_token', // bytes read from GPU memory per decoded token (weights + KV)
  'achieved_gbps', // bytes_per_token × decode_tok_s / 1e9
  'roofline_fraction', // achieved_gbps ÷ the adapter's measured copy bandwidth
] as const;
export type ScalarMetric = (typeof SCALAR_METRICS)[number];

/** What limits decode (RunMetrics.bound): 'bandwidth' (>= half the copy bandwidth), 'dispatch' (fixed
 *  per-dispatch cost >= half the step), else 'latency'. */
export const BOUNDS = ['bandwidth', 'dispatch', 'latency'] as const;
export type Bound = (typeof BOUNDS)[number];

/** GPU memory by purpose, bytes (BufferPool accounting). */
export const GPU_BYTES_FIELDS = ['weights', 'kv', 'activations', 'staging', 'uniforms'] as const;
export type GpuBytesRecord = Record<(typeof GPU_BYTES_FIELDS)[number], number>;

/** Bounds (also in the JSON Schema). A file above them is rejected, not truncated. */
export const LIMITS = {
  idChars: 128, // session and run ids
  nameChars: 200, // session name, run label, model name/architecture, generator
  sourceChars: 2000, // model source (may be a URL)
  infoChars: 1000, // user agent, adapter strings
  featureChars: 100, // one adapter feature name or limit/kernel family name
  features: 256, // adapter features, limits, kernel families, config keys per object
  runs: 100_000, // runs per session
  tokens: 1_000_000, // prompt_ids, output_ids, token_times_ms, prompt as ids
  textChars: 10_000_000, // prompt text, output text, any string inside `config`
  tokenId: 2_147_483_647, // largest token id (int32)
  configDepth: 32, // nesting of `config` (objects and arrays); the validator's one rule the schema cannot state
  importBytes: 50 * 1024 * 1024, // largest file importJson/importBlob accept (UTF-16 code units for a string)
} as const;

/** The adapter a session ran on (AdapterProbe of src/gpu/device.ts, minus the derived `missing`). */
export interface SessionAdapter {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software/fallback adapter (SwiftShader): absolute speeds mean little there. */
  is_fallback: boolean;
  /** Sorted feature names, e.g. ['subgroups', 'timestamp-query']. */
  features: string[];
  /** The limits the lab shows, e.g. { maxStorageBufferBindingSize: 1073741824 }. */
  limits: Record<string, number>;
}

export interface SessionEnvironment {
  /** navigator.userAgent in a browser; e.g. 'node/v20.20.2 (linux x64)' from the CLI. */
  user_agent: string;
  /** null when no WebGPU adapter was available (e.g. a wasm-only session). */
  adapter: SessionAdapter | null;
}

/** The model a run used. Per run, since a session can span models. */
export interface RunModel {
  name: string;
  /** Where it came from: 'embedded:lab-target', a URL, 'files:<folder>', a Hub id… */
  source: string;
  /** Parameter count, or null when unknown (some baselines). */
  parameters: number | null;
  /** Bytes of weights as loaded, or null when unknown. */
  bytes: number | null;
  /** e.g. 'llama'. Optional. */
  architecture?: string;
}

export interface SessionMetrics {
  decode_tok_s: number | null;
  prefill_tok_s: number | null;
  ttft_ms: number | null;
  ms_per_token_p50: number | null;
  ms_per_token_p95: number | null;
  /** GPU memory by purpose; null when the engine does not report it (ORT, transformers.js). */
  gpu_bytes: GpuBytesRecord | null;
  bytes_per_token: number | null;
  achieved_gbps: number | null;
  roofline_fraction: number | null;
  /** Optional: the adapter's measured copy-kernel bandwidth, GB/s (the roofline's denominator). */
  copy_gbps?: number | null;
  /** Optional: what limits decode. */
  bound?: Bound | null;
  /** Optional: compute dispatches per decode step. */
  dispatches_per_token?: number | null;
  prompt_tokens: number;
  generated_tokens: number;
  stopped_by: StopReason | null;
}

/** The spread of a metric over repeated runs; the metric's own value is the median. */
export interface SpreadEntry {
  min: number;
  q1: number;
  q3: number;
  max: number;
  /** Repetitions measured (>= 1). */
  n: number;
}
export type RunSpread = Partial<Record<ScalarMetric, SpreadEntry>>;

/** Quality versus a reference (null = not measured). */
export interface RunQuality {
  /** exp(mean negative log-likelihood) on held-out text. */
  perplexity: number | null;
  /** Fraction of positions whose argmax equals the reference's, in [0, 1]. */
  top1_agreement: number | null;
  /** Mean KL(reference ‖ this) over positions, nats. */
  kl: number | null;
  /** Optional: mean negative log-likelihood, nats per predicted token (perplexity = exp(nll)). */
  nll?: number | null;
  /** Optional: how many predicted tokens the figures cover. */
  tokens?: number;
  /** What the figures compare against, e.g. 'lab f32'. Optional. */
  reference?: string;
}

/** Any JSON value (the content of `config`). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface SessionRun {
  id: string;
  engine: EngineKind;
  /** Short human label, e.g. 'int4 + early exit' (may be empty). */
  label: string;
  /** ISO 8601 time the run started. */
  started_at: string;
  model: RunModel;
  /** The full technique settings, open: e.g. { precision: 'f32', sampling: { temperature: 0, … } }. */
  config: { [key: string]: JsonValue };
  /** The prompt as the user gave it: text, or token ids. */
  prompt: string | number[];
  prompt_ids: number[];
  output_ids: number[];
  /** Decoded output text. */
  text: string;
  /** Per generated token: ms since the run started when its id was known. */
  token_times_ms: number[];
  metrics: SessionMetrics;
  spread?: RunSpread;
  quality?: RunQuality;
  /** GPU ns per kernel family over the profiled decode steps. */
  kernel_ns?: Record<string, number>;
}

export interface Session {
  format: typeof SESSION_FORMAT;
  version: typeof SESSION_VERSION;
  id: string;
  name: string;
  /** ISO 8601. */
  created_at: string;
  /** ISO 8601; bumped by addRun/renameSession. */
  updated_at: string;
  /** What wrote the file, e.g. 'efficiency-lab 0.1.0 (app)'. Optional. */
  generator?: string;
  environment: SessionEnvironment;
  runs: SessionRun[];
}

/** ISO 8601 date-time as `Date.prototype.toISOString` writes it, or with an offset. */
export const ISO_TIME_PATTERN = '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$';
