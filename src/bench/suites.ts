// Benchmark suites as data: each suite is a row of SUITES (model, prompts, repetitions, the configurations to
// compare, and whether to measure quality). src/bench/run-suite.ts runs one on any Engine (LabEngine in a page,
// or the comlink proxy in the app); `npm run bench -- --suite <name>` runs one headless (tools/cli/bench.mjs).
//
// A configuration lists only the techniques it changes; they are deep-merged onto DEFAULT_TECHNIQUES
// (resolveTechniques). Whether a technique exists on this build and adapter is NOT decided here: the runner
// tries engine.configure(settings) and skips a configuration that throws TechniqueError, printing
// "skipped: <reason>" (e.g. f16 without 'shader-f16', or a technique not wired yet). So a suite may list
// everything the lab is meant to compare.
//
// Scripts rely on the built-in names: baseline, precision, sparsity, early-exit, speculative.

import { DEFAULT_TECHNIQUES, type SamplingOptions, type TechniqueSettings } from '../engine/types';
import type { EngineKind } from './schema';

/** Which runtime runs a configuration (the lab's kernels or an ONNX Runtime Web baseline). */
export type SuiteEngine = Extract<EngineKind, 'lab' | 'ort-webgpu' | 'ort-wasm'>;
export const SUITE_ENGINES: readonly SuiteEngine[] = ['lab', 'ort-webgpu', 'ort-wasm'];

/** Every field optional, recursively (plain objects only). */
export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export interface SuiteConfig {
  /** Short row label, e.g. 'int4 g32' (unique within the suite together with `engine`). */
  label: string;
  engine: SuiteEngine;
  /** The technique settings this row changes (lab only; ORT rows run the model as exported). */
  techniques?: DeepPartial<TechniqueSettings>;
}

export interface Suite {
  name: string;
  description: string;
  /** Model folder, relative to the repository root (default 'models/lab-target'). */
  model: string;
  /** Draft model folder for speculative rows with draft 'model' (ModelSource.draftUrl); without it the engine
   *  refuses those rows and they are skipped. */
  draft?: string;
  /** Prompts: text (needs the model's tokenizer) or token ids. One session run per configuration and prompt. */
  prompts: (string | number[])[];
  maxNewTokens: number;
  /** Timed repetitions per configuration and prompt (each run's figures are the median over them). */
  repeat: number;
  /** Untimed generations before the timed ones (pipeline compilation, ORT's per-prompt-length shaders). */
  warmup: number;
  /** Sampling besides maxNewTokens (default greedy: temperature 0; ORT rows support greedy only). */
  sampling?: Partial<Omit<SamplingOptions, 'maxNewTokens'>>;
  configs: SuiteConfig[];
  /** Forced-decoding quality of lab rows (perplexity; top-1 agreement and KL against dense f32). */
  quality?: { text: 'heldout' | string; maxTokens: number };
}

export const DEFAULT_SUITE_MODEL = 'models/lab-target';
const PROMPT = 'ROMEO:\nBut soft, what light';
const QUALITY = { text: 'heldout', maxTokens: 1024 } as const;

const lab = (label: string, techniques?: DeepPartial<TechniqueSettings>): SuiteConfig => ({ label, engine: 'lab', ...(techniques ? { techniques } : {}) });
const common = { model: DEFAULT_SUITE_MODEL, prompts: [PROMPT], maxNewTokens: 32, repeat: 3, warmup: 1 };

export const SUITES: readonly Suite[] = [
  {
    ...common,
    name: 'baseline',
    description: 'The embedded target, greedy: the lab (dense f32) vs ONNX Runtime Web on WebGPU and on wasm (CPU), same weights',
    configs: [lab('lab f32'), { label: 'ort webgpu', engine: 'ort-webgpu' }, { label: 'ort wasm', engine: 'ort-wasm' }],
    quality: QUALITY,
  },
  {
    ...common,
    name: 'precision',
    description: 'Weight precision: f32, f16 storage (native f16 loads with shader-f16, unpack2x16float without), int8 and int4 group-wise, int4 with zero points',
    configs: [
      lab('f32'),
      lab('f16', { quant: { precision: 'f16' } }),
      lab('int8 g32', { quant: { precision: 'int8', groupSize: 32 } }),
      lab('int4 g32', { quant: { precision: 'int4', groupSize: 32 } }),
      lab('int4 g128', { quant: { precision: 'int4', groupSize: 128 } }),
      lab('int4z g32', { quant: { precision: 'int4z', groupSize: 32 } }),
    ],
    quality: QUALITY,
  },
  {
    ...common,
    name: 'sparsity',
    description: 'Magnitude pruning: dense, unstructured 50/70/90%, 2:4 semi-structured, structured (rows/channels) 25%',
    configs: [
      lab('dense'),
      lab('unstructured 50%', { prune: { kind: 'unstructured', sparsity: 0.5 } }),
      lab('unstructured 70%', { prune: { kind: 'unstructured', sparsity: 0.7 } }),
      lab('unstructured 90%', { prune: { kind: 'unstructured', sparsity: 0.9 } }),
      lab('2:4', { prune: { kind: '2:4', sparsity: 0.5 } }),
      lab('structured 25%', { prune: { kind: 'structured', sparsity: 0.25 } }),
    ],
    quality: QUALITY,
  },
  {
    ...common,
    name: 'early-exit',
    description:
      'Early exit on max-probability confidence: thresholds 0.5, 0.7, 0.9 and never (1.01: checks run, nothing exits); quality under forced decoding with the exits applied',
    configs: [
      lab('full depth'),
      lab('exit@0.5', { earlyExit: { enabled: true, threshold: 0.5 } }),
      lab('exit@0.7', { earlyExit: { enabled: true, threshold: 0.7 } }),
      lab('exit@0.9', { earlyExit: { enabled: true, threshold: 0.9 } }),
      lab('exit never', { earlyExit: { enabled: true, threshold: 1.01 } }),
    ],
    quality: QUALITY,
  },
  {
    ...common,
    name: 'speculative',
    draft: 'models/lab-draft',
    description:
      'Speculative decoding, greedy (output identical to the target): γ 2/4/6 with the draft model and with self-drafting, adaptive γ, and an int4 self-draft (of the f32 target and of an int8 target, beside the int8 target alone)',
    configs: [
      lab('target only'),
      ...[2, 4, 6].flatMap((gamma) => [
        lab(`draft model γ${gamma}`, { speculative: { enabled: true, draft: 'model', gamma } }),
        lab(`self γ${gamma}`, { speculative: { enabled: true, draft: 'self', gamma } }),
      ]),
      lab('draft model γ2 adaptive', { speculative: { enabled: true, draft: 'model', gamma: 2, adaptive: true } }),
      lab('self γ4 adaptive', { speculative: { enabled: true, draft: 'self', gamma: 4, adaptive: true } }),
      lab('self γ4 int4 draft', { speculative: { enabled: true, draft: 'self', gamma: 4, draftPrecision: 'int4' } }),
      lab('int8 target only', { quant: { precision: 'int8', groupSize: 32 } }),
      lab('int8 + self γ4 int4 draft', { quant: { precision: 'int8', groupSize: 32 }, speculative: { enabled: true, draft: 'self', gamma: 4, draftPrecision: 'int4' } }),
    ],
  },
];

export class SuiteError extends Error {
  override name = 'SuiteError';
}

export const suiteNames = (): string[] => SUITES.map((s) => s.name);

/** The built-in suite `name` (a copy), or SuiteError listing the names. */
export function getSuite(name: string): Suite {
  const s = SUITES.find((x) => x.name === name);
  if (!s) throw new SuiteError(`no suite '${name}': the suites are ${suiteNames().join(', ')}`);
  return structuredClone(s);
}

const isPlain = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** `patch` deep-merged onto `base` (plain objects merge; anything else replaces). Neither argument changes. */
export function deepMerge<T>(base: T, patch: DeepPartial<T> | undefined): T {
  if (!isPlain(base) || !isPlain(patch)) return (patch === undefined ? structuredClone(base) : patch) as T;
  const out: Record<string, unknown> = structuredClone(base);
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    out[k] = isPlain(out[k]) && isPlain(v) ? deepMerge(out[k], v) : structuredClone(v);
  }
  return out as T;
}

/** A configuration's full technique settings: its partial settings deep-merged onto DEFAULT_TECHNIQUES. */
export function resolveTechniques(c: Pick<SuiteConfig, 'techniques'>): TechniqueSettings {
  return deepMerge(DEFAULT_TECHNIQUES, c.techniques);
}

/** The suite's sampling options (greedy unless the suite says otherwise). */
export function suiteSampling(s: Suite): SamplingOptions {
  return { temperature: 0, topK: 0, topP: 1, seed: 1, ...s.sampling, maxNewTokens: s.maxNewTokens };
}

/** Problems with a suite, as messages naming the field ([] = valid). Keys not in TechniqueSettings count. */
export function checkSuite(s: Suite): string[] {
  const errs: string[] = [];
  const int = (v: unknown, name: string, min: number) => {
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= min)) errs.push(`${name}: expected an integer >= ${min}, got ${JSON.stringify(v)}`);
  };
  if (!/^[a-z0-9][a-z0-9-]*$/.test(s.name ?? '')) errs.push(`name: expected lowercase letters, digits and '-', got ${JSON.stringify(s.name)}`);
  if (!s.description) errs.push('description: empty');
  if (!s.model) errs.push('model: empty');
  if (s.draft !== undefined && !s.draft) errs.push('draft: empty');
  if (!Array.isArray(s.prompts) || s.prompts.length === 0) errs.push('prompts: expected at least one prompt');
  else s.prompts.forEach((p, i) => {
    const ok = typeof p === 'string' ? p.length > 0 : Array.isArray(p) && p.length > 0 && p.every((x) => Number.isInteger(x) && x >= 0);
    if (!ok) errs.push(`prompts[${i}]: expected non-empty text or token ids`);
  });
  int(s.maxNewTokens, 'maxNewTokens', 2);
  int(s.repeat, 'repeat', 1);
  int(s.warmup, 'warmup', 0);
  if (!Array.isArray(s.configs) || s.configs.length === 0) errs.push('configs: expected at least one configuration');
  const seen = new Set<string>();
  (s.configs ?? []).forEach((c, i) => {
    const at = `configs[${i}]`;
    if (!c.label) errs.push(`${at}.label: empty`);
    if (!SUITE_ENGINES.includes(c.engine)) errs.push(`${at}.engine: expected one of ${SUITE_ENGINES.join(', ')}, got ${JSON.stringify(c.engine)}`);
    const key = `${c.engine}|${c.label}`;
    if (seen.has(key)) errs.push(`${at}: duplicate label '${c.label}' for engine ${c.engine}`);
    seen.add(key);
    if (c.techniques && c.engine !== 'lab') errs.push(`${at}.techniques: only lab configurations take technique settings`);
    errs.push(...unknownKeys(c.techniques, DEFAULT_TECHNIQUES, `${at}.techniques`));
  });
  if (s.quality) {
    if (!s.quality.text) errs.push('quality.text: empty');
    int(s.quality.maxTokens, 'quality.maxTokens', 2);
  }
  return errs;
}

function unknownKeys(patch: unknown, base: unknown, path: string): string[] {
  if (!isPlain(patch) || !isPlain(base)) return [];
  return Object.entries(patch).flatMap(([k, v]) => {
    if (!(k in base)) return [`${path}.${k}: no such setting`];
    const b = base[k];
    if (isPlain(b) !== isPlain(v) && b !== null) return [`${path}.${k}: expected ${isPlain(b) ? 'an object' : typeof b}, got ${JSON.stringify(v)}`];
    return unknownKeys(v, b, `${path}.${k}`);
  });
}
