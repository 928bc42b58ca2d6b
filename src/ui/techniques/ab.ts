// "A/B vs target alone": with early exit or speculative decoding in effect, the same prompt and sampling (same
// seed) run alternately with the technique and with the plain target (./ab-summary.ts: schedule and figures).
// Each run is an ordinary engine.generate after engine.configure toggled only the dynamic technique (the weights
// stay as they are: configure skips the re-pack when quant and pruning are unchanged), and each is recorded into
// the current session like any Generate. The settings in effect are restored afterwards.

import { signal } from '@preact/signals';
import { errorInfo } from '../../engine/client';
import type { EngineErrorInfo, TechniqueSettings } from '../../engine/types';
import { engine, refreshStats } from '../actions';
import { parseIds } from '../format';
import { recordGenerate } from '../sessions/recording';
import * as S from '../state';
import { type AbRun, abSchedule, type AbSummary, summarizeAb } from './ab-summary';
import { applySettings } from './actions';
import { techniqueSettings } from './state';

/** Rounds of the A/B (each runs both sides once). */
export const AB_REPEATS = 3;

export interface AbShown {
  summary: AbSummary;
  /** Which technique was compared ('early exit' | 'speculative'). */
  technique: string;
  greedy: boolean;
  settings: TechniqueSettings;
}

export const abRunning = signal(false);
export const abStep = signal('');
export const abResult = signal<AbShown | null>(null);
export const abError = signal<EngineErrorInfo | null>(null);

/** The settings with early exit and speculative decoding off (the target alone, same weights). */
export function targetAlone(s: TechniqueSettings): TechniqueSettings {
  return { ...structuredClone(s), earlyExit: { ...s.earlyExit, enabled: false }, speculative: { ...s.speculative, enabled: false } };
}

export async function runAb(repeats = AB_REPEATS): Promise<void> {
  const on = structuredClone(techniqueSettings.value);
  if (!S.model.value || S.busy.value || abRunning.value) return;
  if (!on.earlyExit.enabled && !on.speculative.enabled) {
    abError.value = { name: 'TechniqueError', message: 'Apply early exit or speculative decoding first: the A/B compares it with the target alone' };
    return;
  }
  let prompt: string | number[];
  try {
    prompt = S.promptMode.value === 'ids' ? parseIds(S.prompt.value) : S.prompt.value;
  } catch (e) {
    abError.value = errorInfo(e);
    return;
  }
  const off = targetAlone(on);
  const sampling = { ...S.sampling.value };
  const runs: AbRun[] = [];
  abRunning.value = true;
  abError.value = null;
  abResult.value = null;
  S.phase.value = 'generating';
  S.statusText.value = 'A/B vs target alone…';
  try {
    const order = abSchedule(repeats);
    for (const [i, side] of order.entries()) {
      const settings = side === 'target' ? off : on;
      abStep.value = `${i + 1}/${order.length}: ${side === 'target' ? 'target alone' : 'with the technique'}`;
      await applySettings(settings, { record: false });
      const times: number[] = [];
      const startedAt = new Date();
      const res = await engine.generate({ prompt, sampling }, (ev) => void (times[ev.index] = ev.tMs));
      void recordGenerate({ prompt, sampling, result: res, tokenTimes: times, startedAt, settings });
      runs.push({ side, decodeTokS: res.metrics.decode_tok_s, msP50: res.metrics.ms_per_token_p50, ids: res.outputIds });
    }
    abResult.value = { summary: summarizeAb(runs), technique: on.speculative.enabled ? 'speculative' : 'early exit', greedy: sampling.temperature <= 0, settings: on };
  } catch (e) {
    abError.value = errorInfo(e);
  } finally {
    try {
      await applySettings(on, { record: false });
    } catch (e) {
      abError.value ??= errorInfo(e);
    }
    abStep.value = '';
    abRunning.value = false;
    S.phase.value = 'idle';
    S.statusText.value = abError.value ? `A/B failed: ${abError.value.name}` : 'A/B done';
    await refreshStats();
  }
}
