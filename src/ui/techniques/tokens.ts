// Per-token technique marks → what the output shows: the text split into tokens, a colour per exit layer, the
// exit-layer histogram and the speculative counts (from the engine's final RunMetrics when present, else
// counted from the streamed events).

import type { RunMetrics } from '../../engine/types';
import type { TokenMark } from './state';

export interface Segment {
  text: string;
  mark: TokenMark;
}

/** Whether any token carries technique information (an exit layer or a drafted kind). */
export function hasTechniqueMarks(marks: readonly TokenMark[]): boolean {
  return marks.some((m) => m.exitLayer != null || m.drafted != null);
}

/** `text` cut at each token's end offset; the last token takes the rest, so the pieces concatenate to `text`. */
export function segments(text: string, marks: readonly TokenMark[]): Segment[] {
  const out: Segment[] = [];
  let start = 0;
  marks.forEach((mark, i) => {
    const end = i === marks.length - 1 ? text.length : Math.min(Math.max(mark.end, start), text.length);
    out.push({ text: text.slice(start, end), mark });
    start = end;
  });
  if (start < text.length && out.length) out[out.length - 1]!.text += text.slice(start);
  return out;
}

/** Background for a token that left at `layer` of `nLayers`: warm (early) to cool (late), grey for full depth. */
export function layerColour(layer: number, nLayers: number): string {
  if (nLayers > 0 && layer >= nLayers) return 'hsl(220 14% 92%)';
  const f = nLayers > 1 ? (layer - 1) / (nLayers - 1) : 0;
  return `hsl(${Math.round(20 + f * 180)} 85% 84%)`;
}

export const DRAFT_COLOURS = { accepted: '#bbf7d0', corrected: '#fde68a' } as const;

/** Tokens that left at each layer (index 0 = layer 1). The engine's histogram may be indexed by layer count
 *  (nLayers + 1 entries, entry 0 = "0 layers", always 0): that form is shifted to index 0 = layer 1. */
export function exitHistogram(marks: readonly TokenMark[], nLayers: number, fin: RunMetrics | null): number[] {
  const eh = fin?.early_exit?.histogram;
  if (eh?.length) return nLayers > 0 && eh.length === nLayers + 1 && eh[0] === 0 ? eh.slice(1) : [...eh];
  const maxSeen = marks.reduce((m, t) => Math.max(m, t.exitLayer ?? 0), 0);
  const h = new Array<number>(Math.max(nLayers, maxSeen)).fill(0);
  for (const t of marks) if (t.exitLayer != null && t.exitLayer >= 1) h[t.exitLayer - 1]!++;
  return h;
}

export function meanLayers(hist: readonly number[]): number {
  const n = hist.reduce((a, b) => a + b, 0);
  return n ? hist.reduce((a, c, i) => a + c * (i + 1), 0) / n : NaN;
}

export interface DraftCounts {
  accepted: number;
  corrected: number;
}

export function draftCounts(marks: readonly TokenMark[]): DraftCounts {
  let accepted = 0;
  let corrected = 0;
  for (const t of marks) {
    if (t.drafted === 'accepted') accepted++;
    else if (t.drafted === 'corrected') corrected++;
  }
  return { accepted, corrected };
}
