// Side by side: the same prompt, seed and sampling through two technique settings, one after the other on the
// one engine (configure A → generate → configure B → generate → evaluate B, configure A → evaluate A → restore
// the settings that were in effect), then a token-by-token comparison and quality of B against A.

import { signal } from '@preact/signals';
import { errorInfo } from '../../engine/client';
import { DEFAULT_TECHNIQUES, type EngineErrorInfo, type QualityReport, type RunMetrics, type TechniqueSettings } from '../../engine/types';
import { engine, refreshStats } from '../actions';
import { parseIds } from '../format';
import * as S from '../state';
import { applySettings, qualityInput } from '../techniques/actions';
import { techniqueSettings, type TokenMark } from '../techniques/state';
import { isDenseSettings } from './diff';

/** Held-out tokens each side's quality covers (two forced decodings plus the dense reference: kept small). */
export const SBS_QUALITY_TOKENS = 256;

export const settingsA = signal<TechniqueSettings>(structuredClone(DEFAULT_TECHNIQUES));
/** null: B follows the settings in effect (until edited here). */
export const settingsB = signal<TechniqueSettings | null>(null);

export interface Side {
  settings: TechniqueSettings;
  promptIds: number[];
  ids: number[];
  text: string;
  /** Token end offsets into `text` (as the stream reported them). */
  marks: TokenMark[];
  metrics: RunMetrics;
}

export interface SbsResult {
  prompt: string;
  a: Side | null;
  b: Side | null;
  qualityA: QualityReport | null;
  qualityB: QualityReport | null;
  /** What the quality figures decoded. */
  qualitySource: string;
  /** Whether A is dense f32 (then B's agreement/KL against dense f32 are against A). */
  aIsDense: boolean;
}

export const sbsRunning = signal(false);
export const sbsStep = signal('');
export const sbsResult = signal<SbsResult | null>(null);
export const sbsError = signal<EngineErrorInfo | null>(null);

async function generateOne(prompt: string | number[], settings: TechniqueSettings, label: string): Promise<Side> {
  sbsStep.value = `${label}: re-packing…`;
  await applySettings(settings, { record: false });
  sbsStep.value = `${label}: generating…`;
  const marks: TokenMark[] = [];
  const res = await engine.generate({ prompt, sampling: { ...S.sampling.value } }, (ev) => {
    marks[ev.index] = { index: ev.index, end: ev.textSoFar.length };
    sbsStep.value = `${label}: ${ev.index + 1} tokens`;
  });
  // token events travel on their own port and may trail the result: give the last ones a moment
  for (const t0 = performance.now(); marks.filter(Boolean).length < res.outputIds.length && performance.now() - t0 < 1000; ) await new Promise((r) => setTimeout(r, 20));
  const dense = marks.filter(Boolean);
  return { settings: structuredClone(settings), promptIds: res.promptIds, ids: res.outputIds, text: res.text, marks: dense.length === res.outputIds.length ? dense : [], metrics: res.metrics };
}

/** Run A then B, measure quality, restore. Errors (e.g. a setting the engine refuses) land in sbsError. */
export async function runSideBySide(): Promise<void> {
  if (!S.model.value || S.busy.value || sbsRunning.value) return;
  let prompt: string | number[];
  try {
    prompt = S.promptMode.value === 'ids' ? parseIds(S.prompt.value) : S.prompt.value;
  } catch (e) {
    sbsError.value = errorInfo(e);
    return;
  }
  const a = structuredClone(settingsA.value);
  const b = structuredClone(settingsB.value ?? techniqueSettings.value);
  const restore = structuredClone(techniqueSettings.value);
  sbsRunning.value = true;
  sbsError.value = null;
  S.phase.value = 'generating';
  S.statusText.value = 'Side by side…';
  const result: SbsResult = {
    prompt: typeof prompt === 'string' ? prompt : prompt.join(', '),
    a: null,
    b: null,
    qualityA: null,
    qualityB: null,
    qualitySource: '',
    aIsDense: isDenseSettings(a),
  };
  sbsResult.value = result;
  try {
    result.a = await generateOne(prompt, a, 'A');
    sbsResult.value = { ...result };
    result.b = await generateOne(prompt, b, 'B');
    sbsResult.value = { ...result };
    sbsStep.value = 'quality of B…';
    const q = await qualityInput([...result.a.promptIds, ...result.a.ids]);
    result.qualitySource = q.source;
    result.qualityB = await engine.evaluate({ ...q.input, maxTokens: SBS_QUALITY_TOKENS });
    sbsStep.value = 'quality of A…';
    await applySettings(a, { record: false });
    result.qualityA = await engine.evaluate({ ...q.input, maxTokens: SBS_QUALITY_TOKENS });
    sbsResult.value = { ...result };
    sbsStep.value = '';
  } catch (e) {
    sbsError.value = errorInfo(e);
    sbsStep.value = '';
  } finally {
    try {
      await applySettings(restore, { record: false });
    } catch (e) {
      sbsError.value ??= errorInfo(e);
    }
    sbsRunning.value = false;
    S.phase.value = 'idle';
    S.statusText.value = sbsError.value ? `Side by side failed: ${sbsError.value.name}` : 'Side by side done';
    await refreshStats();
  }
}

