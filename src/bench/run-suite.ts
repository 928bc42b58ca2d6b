// runSuite: run a benchmark suite (src/bench/suites.ts) on any Engine — LabEngine in a page (the bench CLI's
// runner) or the comlink proxy in the app — and return a session in the file format (docs/session-schema.md).
//
// Order of work:
//   1. load the model once; for each prompt, one untimed dense generation: the REFERENCE (its prompt ids feed
//      the ORT rows, its output ids are what every row's output is compared with, and its bytes per token and
//      copy bandwidth give ORT rows their roofline figures). It also warms the pipelines up.
//   2. each lab configuration: engine.configure(settings); a TechniqueError (at configure or at its first
//      generation) skips the row with the note "skipped: <label>: <reason>". Then per prompt: `warmup` untimed
//      generations, `repeat` timed ones, and one more with profile on whose per-kernel GPU time becomes the
//      run's kernel_ns (timestamp queries give every dispatch its own pass, which slows the step, so the
//      profiled generation is kept out of the timings). Quality, when the suite asks: engine.evaluate on the
//      held-out text (first maxTokens tokens): perplexity, and top-1 agreement + KL against dense f32.
//   3. each ORT configuration: OrtBaseline.create (an OrtBaselineError, e.g. no onnx/model.onnx, skips the row),
//      at least one warm-up on the SAME prompt (ORT compiles shaders per new prompt length), timed repetitions.
//      ORT rows are greedy only. Their bytes_per_token is the lab's dense figure (the same f32 weights and KV
//      geometry), so achieved_gbps = bytes_per_token ÷ their p50 and roofline_fraction are comparable.
//   Each session run = one configuration × prompt: every scalar figure is the median over the repetitions, with
//   `spread` (min, q1, q3, max, n); ids, text, token times and memory come from the repetition nearest the
//   median decode speed. config = the full settings ({ quant, prune, earlyExit, speculative } for lab rows,
//   { provider } for ORT) + { sampling, suite, output_agreement, dynamic? }, where output_agreement =
//   { reference: 'lab dense', match: ids equal to the reference's at the same index ÷ the longer length,
//   first_divergence: the first index that differs, or null }, and dynamic = the representative repetition's
//   RunMetrics.early_exit / .speculative statistics when the engine reports them (+ quality_early_exit: the
//   layers run under the quality measurement's forced decoding, QualityReport.early_exit, when exits were on) (a row that enables one of
//   those techniques without them gets the note "warning: … may be the full model's"). Finally the engine is configured back to dense f32.
// Progress: done/total in units of work (a generation = maxNewTokens units of its engine, an evaluation =
// maxTokens units of 'quality'); etaMs from measured ms per unit of each kind (aggregate.ts Eta).

import type { OrtBaseline, OrtEp } from './baselines/ort';
import { DEFAULT_TECHNIQUES, type Engine, type GenerateResult, type ModelInfo, type ModelSource, type RunMetrics, type SamplingOptions } from '../engine/types';
import { aggregate, Eta, figuresOf } from './aggregate';
import type { EngineKind, JsonValue, RunQuality, Session, SessionEnvironment } from './schema';
import { addRun, modelFromInfo, newSession, qualityFromReport, runFromResult } from './session';
import { resolveTechniques, suiteSampling, type Suite, type SuiteConfig } from './suites';

export interface SuiteProgress {
  done: number;
  total: number;
  /** Estimated ms left (NaN until something was measured). */
  etaMs: number;
  label: string;
}

export interface RunSuiteOptions {
  modelSource: ModelSource;
  /** The ONNX export for ORT rows, `${base}/onnx/model.onnx`. */
  modelUrl: string;
  environment: SessionEnvironment;
  /** Overrides suite.repeat. */
  repeat?: number;
  /** Only configurations of these engines (default: all). */
  engines?: EngineKind[];
  /** The text a suite's quality.text 'heldout' means (models/heldout.txt); without it quality is skipped. */
  heldoutText?: string;
  onProgress?: (p: SuiteProgress) => void;
  /** Notes worth printing beside the results ("skipped: …", configure notes). */
  onNote?: (note: string) => void;
  /** The ORT baseline (src/bench/baselines/ort.ts); without it ORT rows are skipped. */
  ort?: { create: typeof OrtBaseline.create };
  /** RunModel.source of every run (default: the model source's name or URL). */
  modelLabel?: string;
  sessionName?: string;
  generator?: string;
}

const isNamed = (e: unknown, name: string) => typeof e === 'object' && e !== null && (e as { name?: unknown }).name === name;
const message = (e: unknown) => (e instanceof Error ? e.message : String((e as { message?: unknown })?.message ?? e));

/** Index-wise agreement of `ids` with `ref`: matches ÷ the longer length, and the first index that differs. */
export function outputAgreement(ids: readonly number[], ref: readonly number[]): { reference: string; match: number; first_divergence: number | null } {
  let same = 0;
  let first: number | null = null;
  for (let i = 0; i < Math.max(ids.length, ref.length); i++) {
    if (ids[i] === ref[i]) same++;
    else first ??= i;
  }
  return { reference: 'lab dense', match: ref.length ? same / Math.max(ref.length, ids.length) : 1, first_divergence: first };
}

/** A skipped row: the reason travels as an exception to the row's catch. */
class Skip extends Error {}

interface Rep {
  result: GenerateResult;
  times: number[];
}

export async function runSuite(engine: Engine, suite: Suite, opts: RunSuiteOptions): Promise<Session> {
  const repeat = opts.repeat ?? suite.repeat;
  const sampling: SamplingOptions = suiteSampling(suite);
  const configs = suite.configs.filter((c) => !opts.engines || opts.engines.includes(c.engine));
  const note = (s: string) => opts.onNote?.(s);
  const N = sampling.maxNewTokens;
  const P = suite.prompts.length;
  const qualityText = !suite.quality ? null : suite.quality.text === 'heldout' ? (opts.heldoutText ?? null) : suite.quality.text;
  if (suite.quality && qualityText === null) note('quality skipped: no held-out text was given');

  // ---- work accounting (units by kind) and progress
  const remaining = new Map<string, number>();
  const add = (kind: string, units: number) => remaining.set(kind, (remaining.get(kind) ?? 0) + units);
  add('lab', P * N); // references
  for (const c of configs) {
    if (c.engine === 'lab') {
      add('lab', P * (suite.warmup + repeat + 1) * N);
      if (qualityText !== null) add('quality', suite.quality!.maxTokens);
    } else add(c.engine, P * (Math.max(1, suite.warmup) + repeat) * N);
  }
  const total = [...remaining.values()].reduce((a, b) => a + b, 0);
  let done = 0;
  const eta = new Eta();
  const progress = (label: string) => opts.onProgress?.({ done, total, etaMs: eta.estimate(remaining), label });
  /** Time `fn` as `units` of `kind`. */
  const work = async <T>(kind: string, units: number, label: string, fn: () => Promise<T>): Promise<T> => {
    progress(label);
    const t0 = performance.now();
    const r = await fn();
    eta.record(kind, units, performance.now() - t0);
    settle(kind, units);
    return r;
  };
  const settle = (kind: string, units: number) => {
    remaining.set(kind, Math.max(0, (remaining.get(kind) ?? 0) - units));
    done += units;
  };

  progress(`loading ${opts.modelLabel ?? 'the model'}`);
  const info: ModelInfo = await engine.load(opts.modelSource);
  const source = opts.modelLabel ?? (opts.modelSource.kind === 'url' ? opts.modelSource.baseUrl : `files:${opts.modelSource.name ?? info.name}`);
  const dense = await engine.configure(DEFAULT_TECHNIQUES);
  const gen = (prompt: string | number[], profile = false): Promise<Rep> => {
    const times: number[] = [];
    return engine.generate({ prompt, sampling, profile }, (ev) => void times.push(ev.tMs)).then((result) => ({ result, times }));
  };
  const refs: GenerateResult[] = [];
  for (const [i, p] of suite.prompts.entries()) refs.push((await work('lab', N, `reference (dense), prompt ${i + 1}/${P}`, () => gen(p))).result);

  let session = newSession({
    environment: opts.environment,
    name: opts.sessionName ?? `suite ${suite.name} · ${info.name}`,
    ...(opts.generator ? { generator: opts.generator } : {}),
  });
  const baseConfig = (c: SuiteConfig) => ({ sampling: { ...sampling }, suite: suite.name, ...(c.engine === 'lab' ? resolveTechniques(c) : { provider: c.engine.slice(4) }) });

  /** One session run per prompt from repetitions (and optionally a profile and quality). */
  const record = (c: SuiteConfig, pi: number, reps: Rep[], extra: { model: { weightBytes: number }; kernelNs?: Record<string, number>; quality?: RunQuality; qualityExit?: JsonValue }) => {
    const metrics = reps.map((r) => r.result.metrics);
    const agg = aggregate(metrics.map(figuresOf));
    const rep = reps[agg.representative]!;
    const kernelNs = extra.kernelNs && Object.keys(extra.kernelNs).length ? extra.kernelNs : undefined;
    const m: RunMetrics = { ...metrics[agg.representative]!, kernelNs };
    for (const [k, v] of Object.entries(agg.medians)) (m as unknown as Record<string, number>)[k] = v ?? NaN;
    const dynamic = dynamicStats(rep.result.metrics);
    const config = {
      ...baseConfig(c),
      output_agreement: outputAgreement(rep.result.outputIds, refs[pi]!.outputIds),
      ...(dynamic ? { dynamic } : {}),
      ...(extra.qualityExit ? { quality_early_exit: extra.qualityExit } : {}),
    } as unknown as { [k: string]: JsonValue };
    return runFromResult({
      engine: c.engine,
      label: c.label,
      config,
      prompt: suite.prompts[pi]!,
      // ORT runs the ONNX export of the same weights (RunModel.source names that file)
      model: { ...modelFromInfo(info, c.engine === 'lab' ? source : `${source.replace(/\/+$/, '')}/onnx/model.onnx`), bytes: extra.model.weightBytes },
      result: { ...rep.result, metrics: m },
      tokenTimesMs: rep.times,
      spread: agg.spread,
      ...(extra.quality ? { quality: extra.quality } : {}),
    });
  };

  for (const c of configs) {
    const gens = c.engine === 'lab' ? suite.warmup + repeat + 1 : Math.max(1, suite.warmup) + repeat;
    const left = { kind: c.engine as string, units: P * gens * N, quality: c.engine === 'lab' && qualityText !== null ? suite.quality!.maxTokens : 0 };
    try {
      if (c.engine === 'lab') {
        const settings = resolveTechniques(c);
        const cr = await engine.configure(settings).catch((e) => {
          throw isNamed(e, 'TechniqueError') ? new Skip(message(e)) : e;
        });
        for (const n of cr.notes) note(`${c.label}: ${n}`);
        const runs = [];
        for (const [pi, p] of suite.prompts.entries()) {
          const reps: Rep[] = [];
          const tag = `${c.label} [lab]${P > 1 ? ` prompt ${pi + 1}/${P}` : ''}`;
          for (let i = 0; i < suite.warmup + repeat; i++) {
            const what = i < suite.warmup ? 'warm-up' : `rep ${i - suite.warmup + 1}/${repeat}`;
            const r = await work('lab', N, `${tag} ${what}`, () => gen(p)).catch((e) => {
              throw isNamed(e, 'TechniqueError') ? new Skip(message(e)) : e;
            });
            left.units -= N;
            if (i >= suite.warmup) reps.push(r);
          }
          const prof = await work('lab', N, `${tag} profile`, () => gen(p, true));
          left.units -= N;
          runs.push({ pi, reps, kernelNs: prof.result.metrics.kernelNs });
        }
        let quality: RunQuality | undefined;
        let qualityExit: JsonValue | undefined; // early exit: layers run under forced decoding (QualityReport.early_exit)
        if (qualityText !== null) {
          const maxTokens = suite.quality!.maxTokens;
          // a byte-level BPE token spans ≥ 1 character: 32× the tokens' worth of text holds the first maxTokens
          const q = await work('quality', maxTokens, `${c.label} [lab] quality (${maxTokens} tokens)`, () => engine.evaluate({ text: qualityText.slice(0, maxTokens * 32), maxTokens }));
          left.quality = 0;
          quality = qualityFromReport(q, 'lab f32');
          if (q.early_exit) qualityExit = structuredClone(q.early_exit) as unknown as JsonValue;
        }
        for (const r of runs) session = addRun(session, record(c, r.pi, r.reps, { model: cr, kernelNs: r.kernelNs, quality, qualityExit }));
        const said = runs.flatMap((r) => r.reps).map((r) => dynamicStats(r.result.metrics) ?? {});
        if (settings.earlyExit.enabled && !said.some((d) => d.early_exit))
          note(`warning: ${c.label}: the engine accepted earlyExit but reported no early_exit statistics: these figures may be the full model's`);
        if (settings.speculative.enabled && !said.some((d) => d.speculative))
          note(`warning: ${c.label}: the engine accepted speculative but reported no speculative statistics: these figures may be the target's alone`);
      } else {
        if (!opts.ort) throw new Skip('no ONNX Runtime baseline was given to runSuite');
        if (sampling.temperature !== 0) throw new Skip('the ORT baseline decodes greedily only');
        const ep: OrtEp = c.engine === 'ort-webgpu' ? 'webgpu' : 'wasm';
        progress(`${c.label} [${c.engine}] creating the session`);
        let ort: OrtBaseline;
        try {
          ort = await opts.ort.create(opts.modelUrl, info.config, ep);
        } catch (e) {
          throw isNamed(e, 'OrtBaselineError') ? new Skip(message(e)) : e;
        }
        try {
          for (const [pi, ref] of refs.entries()) {
            const reps: Rep[] = [];
            const warm = Math.max(1, suite.warmup);
            for (let i = 0; i < warm + repeat; i++) {
              const what = i < warm ? 'warm-up' : `rep ${i - warm + 1}/${repeat}`;
              const b = await work(c.engine, N, `${c.label} [${c.engine}] ${what}`, () => ort.generate(ref.promptIds, N));
              left.units -= N;
              if (i < warm) continue;
              const times = [b.ttft_ms];
              for (const ms of b.token_ms.slice(0, b.output_ids.length - 1)) times.push(times[times.length - 1]! + ms);
              reps.push({ result: baselineResult(b, ref, N), times });
            }
            const run = record(c, pi, reps, { model: dense });
            run.metrics.gpu_bytes = null;
            run.metrics.bound = null;
            run.metrics.dispatches_per_token = null;
            session = addRun(session, run);
          }
        } finally {
          await ort.release();
        }
      }
    } catch (e) {
      if (!(e instanceof Skip)) throw e;
      note(`skipped: ${c.label} [${c.engine}]: ${e.message}`);
      settle(left.kind, left.units);
      if (left.quality) settle('quality', left.quality);
    }
  }
  await engine.configure(DEFAULT_TECHNIQUES);
  progress('done');
  return session;
}

/** The dynamic-compute statistics a generation reported (RunMetrics.early_exit / .speculative), or null. */
function dynamicStats(m: RunMetrics): { early_exit?: JsonValue; speculative?: JsonValue } | null {
  const o = m as unknown as Record<string, unknown>;
  const out: { early_exit?: JsonValue; speculative?: JsonValue } = {};
  for (const k of ['early_exit', 'speculative'] as const) if (o[k] && typeof o[k] === 'object') out[k] = structuredClone(o[k]) as JsonValue;
  return Object.keys(out).length ? out : null;
}

/** A BaselineRun as a GenerateResult; the roofline figures use the reference's bytes per token (see header). */
function baselineResult(b: Awaited<ReturnType<OrtBaseline['generate']>>, ref: GenerateResult, maxNew: number): GenerateResult {
  const r = ref.metrics;
  const achieved = b.ms_per_token_p50 > 0 ? r.bytes_per_token / (b.ms_per_token_p50 * 1e6) : NaN;
  const same = b.output_ids.length === ref.outputIds.length && b.output_ids.every((id, i) => id === ref.outputIds[i]);
  return {
    promptIds: ref.promptIds,
    outputIds: b.output_ids,
    text: same ? ref.text : '', // ORT has no tokenizer here: the text is known only when the ids are the reference's
    metrics: {
      promptTokens: ref.promptIds.length,
      generatedTokens: b.output_ids.length,
      ttft_ms: b.ttft_ms,
      prefill_tok_s: b.prefill_tok_s,
      decode_tok_s: b.decode_tok_s,
      ms_per_token_p50: b.ms_per_token_p50,
      ms_per_token_p95: b.ms_per_token_p95,
      tokenMs: b.token_ms,
      gpu_bytes: r.gpu_bytes, // replaced by null in the run: ORT does not report its memory
      bytes_per_token: r.bytes_per_token,
      achieved_gbps: achieved,
      roofline_fraction: r.copy_gbps > 0 ? achieved / r.copy_gbps : NaN,
      copy_gbps: r.copy_gbps,
      bound: r.bound,
      dispatches_per_token: 0,
      stoppedBy: b.output_ids.length < maxNew ? 'eos' : 'length', // it stops early only on an end-of-sequence id
    },
  };
}
