// State of the technique controls: the settings in effect (`techniqueSettings`, the same signal as the app's
// `techniques`, which every recorded run stores), the settings being edited, the last engine.configure result,
// switch events (the latency chart draws them), per-token technique marks (exit layer, drafted) and the last
// quality report. A model load resets the engine to dense f32, so it resets these too.

import { effect, signal } from '@preact/signals';
import { DEFAULT_TECHNIQUES, type ConfigureResult, type EngineErrorInfo, type QualityReport, type TechniqueSettings, type TokenEvent } from '../../engine/types';
import { model, probe, stats, techniques } from '../state';

/** The technique settings in effect on the engine (written only after engine.configure succeeded). */
export const techniqueSettings = techniques;
/** The settings in the controls (applied with "Apply"). */
export const draftSettings = signal<TechniqueSettings>(structuredClone(DEFAULT_TECHNIQUES));

export const applying = signal(false);
/** Switches from the panel finished so far, applied or refused (tests wait on it: data-apply-seq). */
export const applySeq = signal(0);
/** The engine's answer to the last switch (re-pack time, bytes by format, notes such as the kernel chosen). */
export const lastApply = signal<ConfigureResult | null>(null);
/** Why the last switch was refused (e.g. a TechniqueError for a technique the engine does not run yet). */
export const applyError = signal<EngineErrorInfo | null>(null);

/** A technique switch that took effect after `runsBefore` finished runs (see ./timeline.ts). */
export interface SwitchEvent {
  label: string;
  runsBefore: number;
}
export const switchEvents = signal<SwitchEvent[]>([]);
/** Finished runs since the model was loaded (a switch is placed between runs by this count). */
export const runsDone = signal(0);
/** Per decoded token latency of the last finished runs (the latency chart shows them side by side). */
export const latencyRuns = signal<{ seq: number; tokenMs: number[] }[]>([]);

/** What a streamed token says about the techniques that made it. */
export interface TokenMark {
  index: number;
  /** textSoFar.length once this token was decoded: token i's text is text[end(i−1), end(i)). */
  end: number;
  exitLayer?: number;
  drafted?: 'accepted' | 'corrected';
}
export const tokenMarks = signal<TokenMark[]>([]);

export function beginTokenMarks(): void {
  tokenMarks.value = [];
}

/** Called for every TokenEvent of a Generate, late ones included. */
export function noteToken(ev: TokenEvent): void {
  const next = tokenMarks.value.filter((m) => m.index !== ev.index);
  next.push({ index: ev.index, end: ev.textSoFar.length, exitLayer: ev.exitLayer, drafted: ev.drafted });
  next.sort((a, b) => a.index - b.index);
  tokenMarks.value = next;
}

export interface QualityShown {
  report: QualityReport;
  /** Where the text came from, e.g. "held-out text (models/heldout.txt)". */
  source: string;
  ms: number;
}
export const quality = signal<QualityShown | null>(null);
export const measuring = signal(false);
export const qualityError = signal<EngineErrorInfo | null>(null);

/** Why f16 cannot be picked here, or null. The UI never imports GPU code: it reads the adapter's features. */
export function f16Unavailable(): string | null {
  const features = stats.value?.adapter?.features ?? probe.value?.features;
  if (!features) return 'no adapter yet';
  return features.includes('shader-f16') ? null : 'needs the adapter feature shader-f16';
}

/** Layers of the loaded model (for sliders and the exit histogram); 0 when unknown. */
export function modelLayers(): number {
  const n = model.value?.config?.num_hidden_layers ?? model.value?.config?.n_layer;
  return typeof n === 'number' && n > 0 ? n : 0;
}

/** A loaded model starts with the settings its load reports (dense, the carried-over precision, or 'file'): follow it. */
let loadedKey = '';
effect(() => {
  const m = model.value;
  const key = m ? `${m.name}|${m.parameters}|${m.loadMs.fetch}|${m.loadMs.parse}|${m.loadMs.upload}|${m.loadMs.compile}` : '';
  if (key === loadedKey) return;
  loadedKey = key;
  techniques.value = structuredClone(m?.settings ?? DEFAULT_TECHNIQUES);
  draftSettings.value = structuredClone(m?.settings ?? DEFAULT_TECHNIQUES);
  lastApply.value = null;
  applyError.value = null;
  quality.value = null;
  qualityError.value = null;
  switchEvents.value = [];
  runsDone.value = 0;
  latencyRuns.value = [];
});

export const sameSettings = (a: TechniqueSettings, b: TechniqueSettings): boolean => JSON.stringify(a) === JSON.stringify(b);
