// The ONNX Runtime Web baseline: the same weights, exported to ONNX with past key/values in transformers.js
// naming (tools/train export), decoded greedily by ORT-web on its WebGPU or wasm (CPU) execution provider.
// It is what the lab's own kernels are compared against, so it is timed exactly like the lab's generate loop:
//   ttft_ms  = prefill run + logits readback + argmax of the first new token (from generate() being called),
//   token_ms = per later token, the time from the previous id to this one (one 1-token run + readback + argmax),
//   p50/p95  = nearest-rank percentiles of token_ms (as src/engine/generate.ts `percentile`).
// load_ms covers fetching the .onnx, creating the session and one warm-up prefill + decode step (shader
// compilation, like the lab's autotune/warm-up in LabEngine.load), so the first timed token pays no compile.
//
// Model interface (checked against session.inputNames/outputNames; a missing name throws OrtBaselineError):
//   inputs  input_ids (int64 [1, seq]), attention_mask (int64 [1, past+seq]), position_ids (int64 [1, seq]),
//           past_key_values.{i}.key / .value (float32 [1, nKvHeads, past, headDim]) for i < num_hidden_layers;
//           attention_mask and position_ids are fed only when the model declares them.
//   outputs logits (float32 [1, seq, vocab]), present.{i}.key / .value (float32 [1, nKvHeads, past+seq, headDim]).
// The KV cache stays inside ORT tensors between steps: on WebGPU the present.* outputs stay on the GPU
// ('gpu-buffer') and are fed back as the next past, and each superseded tensor is disposed (checked: ORT's live
// GPU buffers stay constant over repeated generations and drop to 0 on release()).
//
// Bundles (onnxruntime-web 1.30; each loads its own .wasm relative to import.meta.url, so Vite must not
// pre-bundle it: optimizeDeps.exclude ['onnxruntime-web']):
//   webgpu EP: 'onnxruntime-web/webgpu' (the C++ WebGPU EP, asyncify .wasm) by default, or 'jsep' = the default
//              'onnxruntime-web' bundle (the older JS EP). On SwiftShader both are equally slow (~320 dispatches,
//              ~320 uniform writes and ~20-23 submits per decode step; no pipeline is created after warm-up),
//              and 'gpu-buffer' vs 'cpu' for present.* made no measurable difference; 'gpu-buffer' is kept as
//              it saves one KV round trip per step, which grows with the context.
//   wasm EP:   'onnxruntime-web/wasm' (plain .wasm): 3.4 ms/token median vs 4.9 (asyncify) and 6.2 (jsep).

import type * as Ort from 'onnxruntime-web';
import { OrtBaselineError } from './errors';
import { argmax, kvSpec, percentile, type KvSpec } from './ort-util';

export { OrtBaselineError };

export type OrtEp = 'webgpu' | 'wasm';

export interface BaselineRun {
  engine: 'ort-webgpu' | 'ort-wasm';
  output_ids: number[];
  ttft_ms: number;
  /** Per decoded token latency, ms (excludes the first token, which is in ttft_ms). */
  token_ms: number[];
  decode_tok_s: number;
  prefill_tok_s: number;
  ms_per_token_p50: number;
  ms_per_token_p95: number;
  /** Session creation (fetch + create + warm-up), ms. */
  load_ms: number;
}

export interface GenerateOpts {
  onToken?: (id: number) => void;
  shouldStop?: () => boolean;
  /** Ids that end generation after they are emitted (default: the config's eos_token_id, as the lab does). */
  stopIds?: readonly number[];
}

/** Knobs for experiments; the defaults are what measured best or equal (see the file header). */
export interface OrtBaselineOptions {
  /** Where present.* outputs live between steps on WebGPU (default 'gpu-buffer'; wasm is always 'cpu'). */
  kvLocation?: 'cpu' | 'gpu-buffer';
  /** Warm-up run in create() (default true). */
  warmUp?: boolean;
  /** Which WebGPU EP: 'native' ('onnxruntime-web/webgpu', default) or 'jsep' ('onnxruntime-web'). */
  webgpuBackend?: 'native' | 'jsep';
}

type OrtModule = typeof Ort;
type Feeds = Record<string, Ort.Tensor>;

/** The ORT bundle for an EP (see the header). Each bundle is its own ORT instance with its own env. */
async function loadOrt(ep: OrtEp, webgpuBackend: 'native' | 'jsep' = 'native'): Promise<OrtModule> {
  const ort: OrtModule =
    ep === 'wasm' ? await import('onnxruntime-web/wasm') : webgpuBackend === 'jsep' ? await import('onnxruntime-web') : await import('onnxruntime-web/webgpu');
  // Threads need SharedArrayBuffer, which only a cross-origin-isolated page has. Read at the bundle's first session.
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  return ort;
}

export class OrtBaseline {
  private busy = false;
  private released = false;

  private constructor(
    private readonly ort: OrtModule,
    private readonly session: Ort.InferenceSession,
    readonly ep: OrtEp,
    readonly kv: KvSpec,
    /** Fetch + session creation + warm-up, ms. */
    readonly loadMs: number,
    private readonly feedMask: boolean,
    private readonly feedPositions: boolean,
  ) {}

  /** Fetch modelUrl (an .onnx file) and open it on `ep`. `config` is the model's config.json object. */
  static async create(modelUrl: string, config: Record<string, unknown>, ep: OrtEp, opts: OrtBaselineOptions = {}): Promise<OrtBaseline> {
    const t0 = performance.now();
    const kv = kvSpec(config);
    const ort = await loadOrt(ep, opts.webgpuBackend);
    let bytes: Uint8Array;
    try {
      const res = await fetch(modelUrl);
      if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      throw new OrtBaselineError(`cannot fetch the ONNX model ${modelUrl}: ${(e as Error).message}`);
    }
    const pastNames = kv.layerNames.flatMap((l) => [l.pastKey, l.pastValue]);
    const presentNames = kv.layerNames.flatMap((l) => [l.presentKey, l.presentValue]);
    const kvLocation = ep === 'webgpu' ? (opts.kvLocation ?? 'gpu-buffer') : 'cpu';
    const preferredOutputLocation: Record<string, 'cpu' | 'gpu-buffer'> = { logits: 'cpu' };
    for (const n of presentNames) preferredOutputLocation[n] = kvLocation;
    let session: Ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        executionProviders: [ep],
        graphOptimizationLevel: 'all',
        preferredOutputLocation,
      });
    } catch (e) {
      throw new OrtBaselineError(`ONNX Runtime (${ep}) could not open ${modelUrl}: ${(e as Error).message}`);
    }
    const inputs = new Set(session.inputNames);
    const outputs = new Set(session.outputNames);
    const fail = (what: string): never => {
      void session.release();
      throw new OrtBaselineError(`${modelUrl}: ${what} (inputs: ${session.inputNames.join(', ')}; outputs: ${session.outputNames.join(', ')})`);
    };
    for (const n of ['input_ids', ...pastNames]) if (!inputs.has(n)) fail(`the model has no input '${n}'`);
    for (const n of ['logits', ...presentNames]) if (!outputs.has(n)) fail(`the model has no output '${n}'`);
    const known = new Set(['input_ids', 'attention_mask', 'position_ids', ...pastNames]);
    for (const n of session.inputNames) if (!known.has(n)) fail(`the model needs input '${n}', which this baseline cannot feed`);
    const self = new OrtBaseline(ort, session, ep, kv, 0, inputs.has('attention_mask'), inputs.has('position_ids'));
    if (opts.warmUp ?? true) {
      const warm = await self.decode([0, 1], 1);
      warm.dispose();
    }
    (self as { loadMs: number }).loadMs = performance.now() - t0;
    return self;
  }

  /** Greedy decode (argmax of the last logits), the KV cache carried between steps inside ORT tensors. */
  async generate(promptIds: number[], maxNewTokens: number, opts: GenerateOpts = {}): Promise<BaselineRun> {
    if (this.released) throw new OrtBaselineError('this baseline was released');
    if (this.busy) throw new OrtBaselineError('a generation is already running');
    if (!promptIds.length) throw new OrtBaselineError('the prompt is empty');
    const bad = promptIds.find((i) => !Number.isInteger(i) || i < 0 || i >= this.kv.vocabSize);
    if (bad !== undefined) throw new OrtBaselineError(`token id ${bad} is outside the vocabulary (0..${this.kv.vocabSize - 1})`);
    this.busy = true;
    const stopIds = opts.stopIds ?? this.kv.eosTokenIds;
    const maxNew = Math.min(maxNewTokens, this.kv.maxSeq - promptIds.length);
    const out: number[] = [];
    const tokenMs: number[] = [];
    let ttftMs = 0;
    const t0 = performance.now();
    let state: DecodeState | null = null;
    try {
      let last = t0;
      for (let i = 0; i < maxNew; i++) {
        state = await this.step(state, i === 0 ? promptIds : [out[i - 1]!]);
        const id = state.next;
        const now = performance.now();
        if (i === 0) ttftMs = now - t0;
        else tokenMs.push(now - last);
        last = now;
        out.push(id);
        opts.onToken?.(id);
        if (stopIds.includes(id) || opts.shouldStop?.()) break;
      }
    } finally {
      state?.dispose();
      this.busy = false;
    }
    const decodeMs = tokenMs.reduce((a, b) => a + b, 0);
    return {
      engine: this.ep === 'webgpu' ? 'ort-webgpu' : 'ort-wasm',
      output_ids: out,
      ttft_ms: ttftMs,
      token_ms: tokenMs,
      decode_tok_s: decodeMs > 0 ? (tokenMs.length / decodeMs) * 1000 : 0,
      prefill_tok_s: ttftMs > 0 ? (promptIds.length / ttftMs) * 1000 : 0,
      ms_per_token_p50: percentile(tokenMs, 50),
      ms_per_token_p95: percentile(tokenMs, 95),
      load_ms: this.loadMs,
    };
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }

  /** Run `ids` after `prev`'s cache; returns the new cache and the argmax of the last position's logits. */
  private async step(prev: DecodeState | null, ids: number[]): Promise<DecodeState> {
    const { ort, kv } = this;
    const past = prev?.past ?? this.emptyPast();
    const pastLen = prev?.length ?? 0;
    const n = ids.length;
    const total = pastLen + n;
    const feeds: Feeds = { ...past, input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, n]) };
    if (this.feedMask) feeds.attention_mask = new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]);
    if (this.feedPositions) feeds.position_ids = new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, t) => BigInt(pastLen + t)), [1, n]);
    let res: Ort.InferenceSession.ReturnType;
    try {
      res = await this.session.run(feeds);
    } finally {
      for (const t of Object.values(past)) t.dispose(); // superseded by present.* (or the empty start)
      if (prev) prev.past = {};
    }
    const logits = res.logits!;
    const data = (await logits.getData()) as Float32Array;
    const next = argmax(data, (n - 1) * kv.vocabSize, kv.vocabSize);
    logits.dispose();
    const nextPast: Feeds = {};
    for (const l of kv.layerNames) {
      nextPast[l.pastKey] = res[l.presentKey]!;
      nextPast[l.pastValue] = res[l.presentValue]!;
    }
    return new DecodeState(nextPast, total, next);
  }

  /** Warm-up helper: prefill `ids` and run `steps` more single-token steps. */
  private async decode(ids: number[], steps: number): Promise<DecodeState> {
    let s = await this.step(null, ids);
    for (let i = 0; i < steps; i++) s = await this.step(s, [s.next]);
    return s;
  }

  /** Zero-length past for the prefill: (1, nKvHeads, 0, headDim) each. */
  private emptyPast(): Feeds {
    const f: Feeds = {};
    const dims = [1, this.kv.nKvHeads, 0, this.kv.headDim];
    for (const l of this.kv.layerNames) {
      f[l.pastKey] = new this.ort.Tensor('float32', new Float32Array(0), dims);
      f[l.pastValue] = new this.ort.Tensor('float32', new Float32Array(0), dims);
    }
    return f;
  }
}

/** The cache after a step: past tensors (owned; disposed when superseded), its length and the picked id. */
class DecodeState {
  constructor(
    public past: Feeds,
    readonly length: number,
    readonly next: number,
  ) {}
  dispose(): void {
    for (const t of Object.values(this.past)) t.dispose();
    this.past = {};
  }
}
