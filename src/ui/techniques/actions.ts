// What the technique controls ask of the engine: a switch (engine.configure re-packs from the master copy and
// waits for a running generation) and a quality measurement (engine.evaluate: perplexity, and top-1 agreement
// and KL against the dense f32 model).

import { errorInfo } from '../../engine/client';
import type { TechniqueSettings } from '../../engine/types';
import { engine, refreshStats } from '../actions';
import { parseIds } from '../format';
import { techniqueSummary } from '../sessions/describe';
import { recordQuality } from '../sessions/recording';
import * as S from '../state';
import { applyError, applySeq, applying, lastApply, measuring, quality, qualityError, runsDone, sameSettings, switchEvents, techniqueSettings } from './state';

/** Tokens a quality measurement covers at most. */
export const QUALITY_TOKENS = 1024;
/** Characters of held-out text sent (enough for QUALITY_TOKENS tokens with room to spare; the engine cuts). */
const HELDOUT_CHARS = 8 * QUALITY_TOKENS;
const HELDOUT_URL = `${import.meta.env.BASE_URL}models/heldout.txt`;

/** A short label for settings ("int4 g32 · 2:4 sparse"); "dense f32" for the default. */
export function settingsLabel(s: TechniqueSettings): string {
  const t = techniqueSummary(s as unknown as Parameters<typeof techniqueSummary>[0]);
  return t === 'f32' ? 'dense f32' : t;
}

/** Switch the engine to `settings`. From the panel (`record`, the default): shows "re-packing…", the result or
 *  the refusal, and adds a switch marker; resolves to whether it took effect. With record: false (the
 *  side-by-side view's own switches) it only keeps `techniqueSettings` true, and throws on refusal. */
export async function applySettings(settings: TechniqueSettings, opts: { record?: boolean } = {}): Promise<boolean> {
  const record = opts.record ?? true;
  if (!S.model.value) return false;
  const before = techniqueSettings.value;
  if (record) {
    applying.value = true;
    applyError.value = null;
  }
  try {
    const r = await engine.configure(structuredClone(settings));
    techniqueSettings.value = structuredClone(r.settings);
    if (record) {
      lastApply.value = r;
      if (!sameSettings(before, r.settings)) switchEvents.value = [...switchEvents.value, { label: settingsLabel(r.settings), runsBefore: runsDone.value }];
    }
    return true;
  } catch (e) {
    if (!record) throw e;
    applyError.value = errorInfo(e);
    return false;
  } finally {
    await refreshStats(); // weight bytes changed
    if (record) {
      applying.value = false;
      applySeq.value++;
    }
  }
}

/** Whether the loaded model is one of the embedded ones (served from models/). */
function isEmbedded(): boolean {
  const name = S.model.value?.name;
  return !!name && S.embedded.value.some((e) => e.folder === name || e.name === name);
}

async function heldoutText(): Promise<string | null> {
  try {
    const r = await fetch(HELDOUT_URL);
    if (!r.ok || (r.headers.get('content-type') ?? '').includes('text/html')) return null;
    return (await r.text()).slice(0, HELDOUT_CHARS);
  } catch {
    return null;
  }
}

export interface QualityInput {
  input: { text: string } | { ids: number[] };
  source: string;
}

/** The text a quality measurement decodes: the held-out text for an embedded model, else the prompt box
 *  (`fallbackIds` first when given, e.g. the side-by-side view's prompt + output of A). */
export async function qualityInput(fallbackIds?: number[]): Promise<QualityInput> {
  if (isEmbedded() && S.model.value?.hasTokenizer) {
    const text = await heldoutText();
    if (text) return { input: { text }, source: 'held-out text (models/heldout.txt)' };
  }
  if (fallbackIds && fallbackIds.length >= 2) return { input: { ids: fallbackIds }, source: 'the prompt + output of A' };
  if (S.promptMode.value === 'ids') return { input: { ids: parseIds(S.prompt.value) }, source: 'the prompt (token ids)' };
  return { input: { text: S.prompt.value }, source: 'the prompt text' };
}

/** "Measure quality": forced decoding under the settings in effect; also recorded in the session. */
export async function measureQuality(): Promise<void> {
  if (!S.model.value || measuring.value) return;
  measuring.value = true;
  qualityError.value = null;
  try {
    const { input, source } = await qualityInput();
    const startedAt = new Date();
    const t0 = performance.now();
    const report = await engine.evaluate({ ...input, maxTokens: QUALITY_TOKENS });
    quality.value = { report, source, ms: performance.now() - t0 };
    void recordQuality(report, 'text' in input ? input.text : input.ids, startedAt);
  } catch (e) {
    qualityError.value = errorInfo(e);
  } finally {
    measuring.value = false;
  }
}
