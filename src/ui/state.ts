// The app's state: plain signals, read by the panels and written by actions.ts. Nothing here talks to the engine.

import { computed, signal } from '@preact/signals';
import { DEFAULT_SAMPLING, DEFAULT_TECHNIQUES, type EngineErrorInfo, type EngineStats, type LoadProgress, type ModelInfo, type RunMetrics, type SamplingOptions, type TechniqueSettings } from '../engine/types';

/** The adapter probe as the engine reports it (the UI never imports src/gpu/). */
export type AdapterProbe = NonNullable<EngineStats['adapter']>;

/** One entry of models/manifest.json (fields the UI uses; the file has more). */
export interface EmbeddedModel {
  name: string;
  folder: string;
  role?: string;
  description?: string;
  parameters?: number;
  bytes?: number;
}

export type Phase = 'starting' | 'idle' | 'loading' | 'generating' | 'stopping';

export const phase = signal<Phase>('starting');
/** What the status line says (progress, last outcome). */
export const statusText = signal('Starting the engine…');
export const error = signal<EngineErrorInfo | null>(null);
/** A non-error notice, e.g. "the worker was restarted". */
export const notice = signal<string | null>(null);
/** The engine worker has shown no sign of life during a call for this many ms (null: it is responsive). */
export const unresponsive = signal<number | null>(null);

/** A generation a device loss interrupted, which "Continue" resumes: its prompt and sampling (maxNewTokens the
 *  whole budget), and the tokens (and text) it had produced. */
export interface Resumable {
  prompt: string | number[];
  sampling: SamplingOptions;
  before: number[];
  beforeText: string;
  /** The prompt's own token ids (without `before`), as the interrupted run reported them (may be []). */
  promptIds: number[];
}
export const resumable = signal<Resumable | null>(null);

export const probe = signal<AdapterProbe | null>(null);
export const stats = signal<EngineStats | null>(null);
export const model = signal<ModelInfo | null>(null);

export const embedded = signal<EmbeddedModel[]>([]);
/** models/manifest.json "known": Hub models the Model panel offers (bytes per precision: f32, f16, int8_g32, int4_g32). */
export interface KnownModel {
  repo: string;
  architecture: string;
  parameters: number;
  gated?: boolean;
  description?: string;
  bytes: Record<string, number>;
}
export const known = signal<KnownModel[]>([]);
/** The running load's download progress (null when none). */
export const loadProgress = signal<LoadProgress | null>(null);
export const selectedEmbedded = signal<string>('');

export const prompt = signal('ROMEO:\nBut soft, what light');
/** 'ids': the prompt box holds comma/space-separated token ids (needed for models without a tokenizer). */
export const promptMode = signal<'text' | 'ids'>('text');
export const sampling = signal<SamplingOptions>({ ...DEFAULT_SAMPLING, maxNewTokens: 48 });
/** The technique settings in effect (technique controls write it after engine.configure); every recorded run
 *  stores it. DEFAULT_TECHNIQUES until a control changes it. */
export const techniques = signal<TechniqueSettings>(structuredClone(DEFAULT_TECHNIQUES));

/** The current (or last) run's stream. */
/** The text prompt of the current run, echoed before the output ('' for token-id prompts). */
export const runPrompt = signal('');
export const outputText = signal('');
export const promptIds = signal<number[]>([]);
export const outputIds = signal<number[]>([]);
/** tMs of each streamed token (ms since generate() was called). */
export const tokenTimes = signal<number[]>([]);
export const finalMetrics = signal<RunMetrics | null>(null);
export const runStartedAt = signal(0);

export const busy = computed(() => phase.value === 'loading' || phase.value === 'generating' || phase.value === 'stopping' || phase.value === 'starting');

export function patchSampling(p: Partial<SamplingOptions>): void {
  sampling.value = { ...sampling.value, ...p };
}

export function clearRun(): void {
  runPrompt.value = '';
  outputText.value = '';
  promptIds.value = [];
  outputIds.value = [];
  tokenTimes.value = [];
  finalMetrics.value = null;
}
