// Built-in suites are valid data; technique patches deep-merge onto DEFAULT_TECHNIQUES without touching it;
// runSuite (src/bench/run-suite.ts) on a fake Engine: skipping, aggregation, ORT rows, a valid session.
import { describe, expect, it } from 'vitest';
import type { OrtBaseline } from '../../src/bench/baselines/ort';
import { runSuite } from '../../src/bench/run-suite';
import type { SessionRun } from '../../src/bench/schema';
import { exportJson, importJson } from '../../src/bench/session';
import { checkSuite, deepMerge, getSuite, resolveTechniques, SUITES, SuiteError, suiteNames, suiteSampling, type Suite } from '../../src/bench/suites';
import type { AdapterProbe } from '../../src/gpu/device';
import {
  type ConfigureResult,
  DEFAULT_TECHNIQUES,
  type Engine,
  type EngineStats,
  type GenerateRequest,
  type GenerateResult,
  type ModelInfo,
  type QualityReport,
  type RunMetrics,
  type TechniqueSettings,
  type TokenEvent,
} from '../../src/engine/types';

describe('built-in suites', () => {
  it('has the names scripts rely on', () => {
    expect(suiteNames()).toEqual(expect.arrayContaining(['baseline', 'precision', 'sparsity', 'early-exit', 'speculative']));
    expect(new Set(suiteNames()).size).toBe(SUITES.length);
  });

  for (const s of SUITES) {
    it(`${s.name} is valid`, () => {
      expect(checkSuite(s)).toEqual([]);
      // every row resolves to full settings; lab rows are distinct configurations
      const lab = s.configs.filter((c) => c.engine === 'lab').map((c) => JSON.stringify(resolveTechniques(c)));
      expect(new Set(lab).size).toBe(lab.length);
    });
  }

  it('baseline compares the lab with ORT on WebGPU and wasm, dense first', () => {
    const s = getSuite('baseline');
    expect(s.configs.map((c) => c.engine)).toEqual(['lab', 'ort-webgpu', 'ort-wasm']);
    expect(resolveTechniques(s.configs[0]!)).toEqual(DEFAULT_TECHNIQUES);
    expect(suiteSampling(s)).toMatchObject({ temperature: 0, maxNewTokens: s.maxNewTokens });
  });

  it('lists the settings the issue names', () => {
    const settings = (name: string) => getSuite(name).configs.map((c) => resolveTechniques(c));
    expect(settings('precision').map((t) => `${t.quant.precision}/${t.quant.groupSize}`)).toEqual(['f32/32', 'f16/32', 'int8/32', 'int4/32', 'int4/128', 'int4z/32']);
    expect(settings('sparsity').map((t) => `${t.prune.kind}/${t.prune.sparsity}`)).toEqual(['none/0', 'unstructured/0.5', 'unstructured/0.7', 'unstructured/0.9', '2:4/0.5', 'structured/0.25']);
    expect(settings('early-exit').filter((t) => t.earlyExit.enabled).map((t) => t.earlyExit.threshold)).toEqual([0.5, 0.7, 0.9, 1.01]);
    const spec = settings('speculative')
      .filter((t) => t.speculative.enabled)
      .map((t) => `${t.quant.precision === 'f32' ? '' : `${t.quant.precision} `}${t.speculative.draft}${t.speculative.gamma}${t.speculative.adaptive ? ' adaptive' : ''}${t.speculative.draftPrecision === 'same' ? '' : ` ${t.speculative.draftPrecision} draft`}`);
    expect(spec.sort()).toEqual(['int8 self4 int4 draft', 'model2', 'model2 adaptive', 'model4', 'model6', 'self2', 'self4', 'self4 adaptive', 'self4 int4 draft', 'self6']);
    // the int8 target alone, to compare the int8 target's int4 self-draft with
    expect(settings('speculative').filter((t) => !t.speculative.enabled).map((t) => t.quant.precision)).toEqual(['f32', 'int8']);
    expect(getSuite('speculative').draft).toBe('models/lab-draft'); // ModelSource.draftUrl for draft 'model'
  });

  it('getSuite returns a copy and names the suites on a typo', () => {
    const s = getSuite('precision');
    s.configs.length = 0;
    expect(getSuite('precision').configs.length).toBeGreaterThan(0);
    expect(() => getSuite('precison')).toThrow(SuiteError);
    expect(() => getSuite('precison')).toThrow(/baseline, precision, sparsity, early-exit, speculative/);
  });
});

describe('deepMerge / resolveTechniques', () => {
  it('merges nested objects and leaves the rest at the defaults', () => {
    const t = resolveTechniques({ techniques: { prune: { kind: '2:4', targets: { ffn: false } }, quant: { lmHead: 'int8' } } });
    expect(t.prune).toEqual({ kind: '2:4', sparsity: 0, scope: 'layer', targets: { attention: true, ffn: false } });
    expect(t.quant).toEqual({ precision: 'f32', groupSize: 32, lmHead: 'int8' });
    expect(t.earlyExit).toEqual(DEFAULT_TECHNIQUES.earlyExit);
    expect(t.speculative).toEqual(DEFAULT_TECHNIQUES.speculative);
  });

  it('never changes its arguments or shares objects with them', () => {
    const before = JSON.stringify(DEFAULT_TECHNIQUES);
    const patch = { prune: { targets: { attention: false } } };
    const t = resolveTechniques({ techniques: patch });
    t.quant.precision = 'int4';
    t.prune.targets.ffn = false;
    expect(JSON.stringify(DEFAULT_TECHNIQUES)).toBe(before);
    expect(patch).toEqual({ prune: { targets: { attention: false } } });
    expect(resolveTechniques({})).toEqual(DEFAULT_TECHNIQUES);
    expect(resolveTechniques({})).not.toBe(DEFAULT_TECHNIQUES);
  });

  it('replaces non-objects (null, arrays, numbers) and skips undefined', () => {
    expect(deepMerge({ a: { b: 1 }, c: [1, 2], d: 3 }, { a: { b: undefined }, c: [9], d: 4 })).toEqual({ a: { b: 1 }, c: [9], d: 4 });
    expect(deepMerge({ a: null as null | { x: number } }, { a: { x: 1 } })).toEqual({ a: { x: 1 } });
  });
});

describe('checkSuite', () => {
  const good = (): Suite => ({ ...getSuite('baseline') });
  it('names the bad field', () => {
    const cases: [(s: Suite) => void, RegExp][] = [
      [(s) => (s.name = 'Bad Name'), /^name:/],
      [(s) => (s.prompts = []), /^prompts:/],
      [(s) => (s.prompts = [[1, -2]]), /^prompts\[0\]/],
      [(s) => (s.repeat = 0), /^repeat:/],
      [(s) => (s.maxNewTokens = 1.5), /^maxNewTokens:/],
      [(s) => (s.configs[1]!.engine = 'cuda' as never), /^configs\[1\]\.engine/],
      [(s) => s.configs.push({ ...s.configs[0]! }), /duplicate label/],
      [(s) => (s.configs[0]!.techniques = { quant: { precison: 'int4' } } as never), /configs\[0\]\.techniques\.quant\.precison: no such setting/],
      [(s) => (s.configs[0]!.techniques = { prune: 'none' } as never), /configs\[0\]\.techniques\.prune: expected an object/],
      [(s) => (s.configs[1]!.techniques = { quant: { precision: 'int4' } }), /only lab configurations/],
      [(s) => (s.quality = { text: 'heldout', maxTokens: 1 }), /^quality\.maxTokens/],
    ];
    for (const [mutate, re] of cases) {
      const s = good();
      mutate(s);
      const errs = checkSuite(s);
      expect(errs.length, re.source).toBeGreaterThan(0);
      expect(errs.join('\n')).toMatch(re);
    }
  });
});

// ---- runSuite on a fake Engine (engine-agnostic: only the Engine interface and errors by name, as through comlink)

class FakeEngine implements Engine {
  calls: string[] = [];
  settings: TechniqueSettings = DEFAULT_TECHNIQUES;
  private n = 0;
  async init(): Promise<AdapterProbe> {
    throw new Error('not used');
  }
  async load(): Promise<ModelInfo> {
    this.calls.push('load');
    return { name: 'fake', architecture: 'llama', parameters: 1000, weightBytes: 4000, config: { num_hidden_layers: 2 }, hasTokenizer: true, maxSeq: 64, vocabSize: 50, loadMs: { fetch: 0, parse: 0, upload: 0, compile: 0 }, settings: DEFAULT_TECHNIQUES };
  }
  async generate(req: GenerateRequest, onToken: (ev: TokenEvent) => void): Promise<GenerateResult> {
    this.calls.push(`generate${req.profile ? ':profile' : ''}:${this.settings.quant.precision}`);
    if (this.settings.speculative.enabled) throw Object.assign(new Error('no draft model loaded'), { name: 'TechniqueError' });
    const k = ++this.n;
    const int4 = this.settings.quant.precision === 'int4';
    const ids = Array.from({ length: req.sampling.maxNewTokens }, (_, i) => (int4 && i >= 2 ? 7 : i + 1));
    ids.forEach((id, i) => onToken({ id, text: 'x', textSoFar: 'x', index: i, tMs: 10 + i }));
    const decode = (int4 ? 20 : 10) + (k % 3); // 3 reps → +0, +1, +2 in some order
    const metrics: RunMetrics = {
      promptTokens: 3, generatedTokens: ids.length, ttft_ms: 10, prefill_tok_s: 300, decode_tok_s: decode, ms_per_token_p50: 1000 / decode,
      ms_per_token_p95: 2000 / decode, tokenMs: ids.slice(1).map(() => 1000 / decode), gpu_bytes: { weights: int4 ? 500 : 4000, kv: 100, activations: 10, staging: 0, uniforms: 1 },
      bytes_per_token: int4 ? 600 : 4100, achieved_gbps: 0.5, roofline_fraction: 0.25, copy_gbps: 2, bound: 'dispatch', dispatches_per_token: 30,
      ...(req.profile ? { kernelNs: { gemv: 1e6 } } : {}), stoppedBy: 'length',
    };
    return { promptIds: [5, 6, 7], outputIds: ids, text: 'x'.repeat(ids.length), metrics };
  }
  async abort() {}
  async cancelLoad() {}
  async estimate(): Promise<never> {
    throw new Error('not used');
  }
  async setMemoryBudget(): Promise<never> {
    throw new Error('not used');
  }
  async reset() {}
  async stats(): Promise<EngineStats> {
    throw new Error('not used');
  }
  async configure(settings: TechniqueSettings): Promise<ConfigureResult> {
    this.calls.push(`configure:${settings.quant.precision}`);
    if (settings.quant.precision === 'f16') throw Object.assign(new Error("f16 weights need 'shader-f16'"), { name: 'TechniqueError' });
    this.settings = settings;
    const int4 = settings.quant.precision === 'int4';
    return { settings, repackMs: 1, weightBytes: int4 ? 500 : 4000, bytesByFormat: {}, notes: int4 ? ['lm_head at int8'] : [] };
  }
  async evaluate(): Promise<QualityReport> {
    const dense = this.settings.quant.precision === 'f32';
    return { perplexity: dense ? 20 : 21, nll: Math.log(dense ? 20 : 21), tokens: 15, top1_agreement: dense ? null : 0.9, kl: dense ? null : 0.01, settings: this.settings };
  }
}

const fakeSuite = (): Suite => ({
  name: 'fake', description: 'a fake suite', model: 'x', prompts: ['hello'], maxNewTokens: 4, repeat: 3, warmup: 1,
  quality: { text: 'heldout', maxTokens: 16 },
  configs: [
    { label: 'f32', engine: 'lab' },
    { label: 'f16', engine: 'lab', techniques: { quant: { precision: 'f16' } } },
    { label: 'int4', engine: 'lab', techniques: { quant: { precision: 'int4' } } },
    { label: 'spec', engine: 'lab', techniques: { speculative: { enabled: true } } },
    { label: 'ort', engine: 'ort-wasm' },
    { label: 'ort gpu', engine: 'ort-webgpu' },
  ],
});

const fakeOrt = {
  create: async (_url: string, _cfg: Record<string, unknown>, ep: 'webgpu' | 'wasm') => {
    if (ep === 'webgpu') throw Object.assign(new Error('cannot fetch the ONNX model'), { name: 'OrtBaselineError' });
    return {
      generate: async (ids: number[], n: number) => ({ engine: 'ort-wasm', output_ids: [1, 2, 9, 4].slice(0, n), ttft_ms: 5, token_ms: [2, 2, 2], decode_tok_s: 500, prefill_tok_s: ids.length * 200, ms_per_token_p50: 2, ms_per_token_p95: 2, load_ms: 1 }),
      release: async () => {},
    } as unknown as OrtBaseline;
  },
};

describe('runSuite (fake engine)', () => {
  it('skips what throws TechniqueError / OrtBaselineError, aggregates repetitions and writes a valid session', async () => {
    const engine = new FakeEngine();
    const notes: string[] = [];
    const progress: { done: number; total: number }[] = [];
    const env = { user_agent: 'test', adapter: null };
    const s = await runSuite(engine, fakeSuite(), {
      modelSource: { kind: 'url', baseUrl: '/m/' }, modelUrl: '/m/onnx/model.onnx', environment: env, modelLabel: 'models/fake',
      heldoutText: 'some held-out text', ort: fakeOrt, onNote: (n) => notes.push(n), onProgress: (p) => progress.push(p),
    });
    expect(importJson(exportJson(s)).runs).toHaveLength(3);
    expect(s.runs.map((r) => `${r.label}/${r.engine}`)).toEqual(['f32/lab', 'int4/lab', 'ort/ort-wasm']);
    expect(notes).toEqual([
      "skipped: f16 [lab]: f16 weights need 'shader-f16'",
      'int4: lm_head at int8',
      'skipped: spec [lab]: no draft model loaded',
      'skipped: ort gpu [ort-webgpu]: cannot fetch the ONNX model',
    ]);
    const [f32, int4, ort] = s.runs as [SessionRun, SessionRun, SessionRun];
    // 3 timed reps: decode speeds {10, 11, 12} + offsets → median and spread; the profile run is not among them
    expect(f32.metrics.decode_tok_s).toBe(11);
    expect(f32.spread?.decode_tok_s).toMatchObject({ min: 10, max: 12, n: 3 });
    expect(f32.kernel_ns).toEqual({ gemv: 1e6 });
    expect(f32.quality).toMatchObject({ perplexity: 20, top1_agreement: null, reference: 'lab f32' });
    expect(f32.config).toMatchObject({ suite: 'fake', quant: { precision: 'f32' }, output_agreement: { match: 1, first_divergence: null } });
    expect(f32.model).toMatchObject({ source: 'models/fake', bytes: 4000 });
    expect(int4.metrics.decode_tok_s).toBe(21);
    expect(int4.model.bytes).toBe(500);
    expect(int4.quality).toMatchObject({ perplexity: 21, top1_agreement: 0.9, kl: 0.01 });
    expect(int4.config.output_agreement).toEqual({ reference: 'lab dense', match: 0.5, first_divergence: 2 });
    // ORT: greedy on the reference's prompt ids; roofline from the dense bytes/token; no GPU memory figures
    expect(ort.prompt_ids).toEqual([5, 6, 7]);
    expect(ort.metrics).toMatchObject({ decode_tok_s: 500, bytes_per_token: 4100, gpu_bytes: null, bound: null, dispatches_per_token: null });
    expect(ort.metrics.achieved_gbps).toBeCloseTo(4100 / 2e6, 12);
    expect(ort.config).toMatchObject({ provider: 'wasm', output_agreement: { match: 0.75, first_divergence: 2 } });
    expect(ort.model.source).toBe('models/fake/onnx/model.onnx');
    expect(ort.text).toBe(''); // ids differ from the reference: no tokenizer to decode them here
    // one load; a dense reference first; 1 warm-up + 3 reps + 1 profile per lab row; dense again at the end
    expect(engine.calls.filter((c) => c === 'load')).toHaveLength(1);
    expect(engine.calls.slice(0, 3)).toEqual(['load', 'configure:f32', 'generate:f32']);
    expect(engine.calls.filter((c) => c.startsWith('generate') && c.endsWith(':int4'))).toEqual([...Array(4).fill('generate:int4'), 'generate:profile:int4']);
    expect(engine.calls.at(-1)).toBe('configure:f32');
    // progress: never backwards, ends with all work done
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.done).toBeGreaterThanOrEqual(progress[i - 1]!.done);
    expect(progress.at(-1)).toMatchObject({ done: progress.at(-1)!.total });
  });

  it('keeps only the engines asked for, and warns when no quality text was given', async () => {
    const notes: string[] = [];
    const s = await runSuite(new FakeEngine(), fakeSuite(), {
      modelSource: { kind: 'url', baseUrl: '/m/' }, modelUrl: '', environment: { user_agent: 'test', adapter: null }, engines: ['ort-wasm'], repeat: 1, ort: fakeOrt, onNote: (n) => notes.push(n),
    });
    expect(s.runs.map((r) => r.engine)).toEqual(['ort-wasm']);
    expect(s.runs[0]!.spread?.decode_tok_s?.n).toBe(1);
    expect(notes).toEqual(['quality skipped: no held-out text was given']);
  });

  it('warns when the engine accepts early exit but reports no early-exit statistics', async () => {
    const notes: string[] = [];
    const suite = { ...fakeSuite(), quality: undefined, configs: [{ label: 'exit', engine: 'lab' as const, techniques: { earlyExit: { enabled: true } } }] };
    const s = await runSuite(new FakeEngine(), suite, { modelSource: { kind: 'url', baseUrl: '/m/' }, modelUrl: '', environment: { user_agent: 'test', adapter: null }, onNote: (n) => notes.push(n) });
    expect(s.runs).toHaveLength(1);
    expect(s.runs[0]!.config.dynamic).toBeUndefined();
    expect(notes).toEqual(["warning: exit: the engine accepted earlyExit but reported no early_exit statistics: these figures may be the full model's"]);
  });
});
