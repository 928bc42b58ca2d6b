// prune.ts — magnitude pruning as pure functions on host f32 weights: WHICH weights (or whole FFN neurons and
// attention KV groups) to remove. No GPU here: sparse-formats.ts packs the result for the kernels.
//
// Conventions (every choice is deterministic):
//   kept count   K = total − round(sparsity · total), exactly (round half up). Structured: at least 1 unit/layer.
//   ranking      |w| descending, then index ascending: among equal magnitudes the LOWER index is kept.
//   unstructured scope 'layer': every targeted tensor separately (each Linear keeps exactly its K);
//                scope 'global': all targeted tensors of the model ranked together; the index of a weight is its
//                position in the forward-order concatenation (layer 0 q,k,v,o,gate,up,down, layer 1, …).
//   N:M (2:4)    in every row, each group of M consecutive inputs (cols Mg..Mg+M−1) keeps its N largest |w|;
//                a short last group (cols % M ≠ 0) counts as padded with zeros, so it keeps min(N, length).
//                `sparsity` and `scope` are ignored (2:4 is always 50%).
//   structured   unit = one FFN neuron i (gate row i, up row i, down column i) or one KV group g (kv head g with
//                its nHeads/nKv query heads: those q rows and o columns, and k/v rows of head g), so GQA stays
//                consistent. Score = L2 norm of all of the unit's weights (one vector). Each target keeps
//                K = units − round(sparsity · units) units, at least 1: per layer ('layer'), or ranked across
//                layers ('global': each layer's best unit is reserved first, the rest filled by rank).
//                The function is unchanged by zeroing a pruned unit's weights (maskLayer) or by physically
//                removing them (shrinkLayer: smaller q/k/v/o/gate/up/down with the same forward pass).
//   targets      attention → q, k, v, o;  ffn → gate, up, down. Embeddings and lm_head are never pruned.
//   gelu MLPs    (GPT-2) have no gate: linearKeys(cfg) leaves it out, a neuron is (up row i + upBias[i], down
//                column i), and the o/up/down biases travel with their weights (upBias rows gathered or zeroed).

import type { ModelConfig } from '../model/config';
import type { HostWeights, LayerWeights } from '../model/weights';

export interface PruneSpec {
  kind: 'none' | 'unstructured' | '2:4' | 'structured';
  sparsity: number; // fraction removed, 0..1 (the UI offers 0..0.95); ignored by 'none' and '2:4'
  scope: 'layer' | 'global'; // rank within each tensor (structured: each layer) or across the model
  targets: { attention: boolean; ffn: boolean }; // which projections are pruned
}

export const NO_PRUNING: PruneSpec = { kind: 'none', sparsity: 0, scope: 'layer', targets: { attention: true, ffn: true } };

/** The seven projections of a block, in forward order. */
export type LinearKey = 'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down';
export const LINEAR_KEYS: readonly LinearKey[] = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'];
const ATTN: readonly LinearKey[] = ['q', 'k', 'v', 'o'];
/** The projections a block of this config has: all seven, or without gate for a gelu MLP. */
export function linearKeys(cfg: ModelConfig): readonly LinearKey[] {
  return cfg.mlp === 'swiglu' ? LINEAR_KEYS : LINEAR_KEYS.filter((k) => k !== 'gate');
}
/** Bias of each projection, by LayerWeights field. */
export const BIAS_KEYS = { q: 'qBias', k: 'kBias', v: 'vBias', o: 'oBias', up: 'upBias', down: 'downBias' } as const;

/** A block's linear weights and their biases: the part of LayerWeights pruning reads and writes. */
export type LayerLinears = Pick<LayerWeights, LinearKey | 'qBias' | 'kBias' | 'vBias' | 'oBias' | 'upBias' | 'downBias'>;
/** Projection k of a layer (gate exists when the config's keys include it). */
const W = (lw: LayerLinears, k: LinearKey): Float32Array => {
  const a = lw[k];
  if (!a) throw new Error(`prune: layer has no ${k} projection`);
  return a;
};

/** Kept units of one layer under structured pruning (ascending indices). */
export interface LayerPlan {
  kvHeads: number[]; // kept kv heads (KV groups)
  heads: number[]; // kept query heads: every query head of each kept KV group
  neurons: number[]; // kept FFN neurons (gate/up rows, down columns)
}

export interface TensorReport {
  name: string; // HF name, e.g. model.layers.0.self_attn.q_proj.weight
  rows: number; // after pruning (structured shrinks them)
  cols: number;
  kept: number; // weights kept (structured: rows × cols after shrinking)
  total: number; // weights before pruning
  pruned: boolean; // targeted by the spec
}

export interface PruneReport {
  kind: PruneSpec['kind'];
  kept: number; // over the targeted tensors
  total: number;
  sparsity: number; // achieved: 1 − kept / total over the targeted tensors (0 when none)
  tensors: TensorReport[];
  /** Per-layer dims after structured pruning. */
  layers: { heads: number; kvHeads: number; inter: number }[];
}

/** HF name of a block's projection (the name GpuModel gives its LinearWeight). */
export function linearName(layer: number, key: LinearKey): string {
  return `model.layers.${layer}.${ATTN.includes(key) ? 'self_attn' : 'mlp'}.${key}_proj.weight`;
}

/** (rows, cols) of a projection at the config's full size. */
export function linearShape(cfg: ModelConfig, key: LinearKey): [number, number] {
  const { hiddenSize: H, intermediateSize: I, nHeads, nKvHeads, headDim } = cfg;
  const shapes: Record<LinearKey, [number, number]> = {
    q: [nHeads * headDim, H], k: [nKvHeads * headDim, H], v: [nKvHeads * headDim, H], o: [H, nHeads * headDim],
    gate: [I, H], up: [I, H], down: [H, I],
  };
  return shapes[key];
}

export function isTarget(spec: PruneSpec, key: LinearKey): boolean {
  return spec.kind !== 'none' && (ATTN.includes(key) ? spec.targets.attention : spec.targets.ffn);
}

/** K = total − round(sparsity · total). */
export function keptCount(total: number, sparsity: number): number {
  if (!(sparsity >= 0 && sparsity <= 1)) throw new RangeError(`sparsity must be in [0, 1], got ${sparsity}`);
  return total - Math.floor(sparsity * total + 0.5);
}

/** The value of rank `r` (0-based, ascending) of `a`, by quickselect; reorders `a`. */
function select(a: Float32Array | Float64Array, r: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const x = a[lo]!, y = a[(lo + hi) >> 1]!, z = a[hi]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y; // median of three
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const tmp = a[i]!;
        a[i++] = a[j]!;
        a[j--] = tmp;
      }
    }
    if (r <= j) hi = j;
    else if (r >= i) lo = i;
    else return a[r]!;
  }
  return a[r]!;
}

/** Mask (1 = keep) of the k largest scores; ties keep the lower index. Exact count. */
export function keepTop(scores: Float32Array | Float64Array, k: number): Uint8Array {
  const n = scores.length;
  const mask = new Uint8Array(n);
  if (k >= n) return mask.fill(1);
  if (k <= 0) return mask;
  let above = 0;
  for (let i = 0; i < n; i++) if (!Number.isFinite(scores[i]!)) throw new RangeError(`keepTop: non-finite score (weight) at ${i}`);
  const t = select(scores.slice(), n - k); // the k-th largest
  for (let i = 0; i < n; i++) if (scores[i]! > t) above++;
  let ties = k - above; // how many scores equal to t are kept: the lowest indices
  for (let i = 0; i < n; i++) {
    const v = scores[i]!;
    if (v > t) mask[i] = 1;
    else if (v === t && ties > 0) {
      mask[i] = 1;
      ties--;
    }
  }
  return mask;
}

const magnitudes = (w: ArrayLike<number>): Float32Array => {
  const m = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) m[i] = Math.abs(w[i]!);
  return m;
};

/** Unstructured magnitude mask of one tensor: keeps exactly keptCount(w.length, sparsity) weights. */
export function magnitudeMask(w: ArrayLike<number>, sparsity: number): Uint8Array {
  return keepTop(magnitudes(w), keptCount(w.length, sparsity));
}

/** One magnitude ranking over several tensors (global scope): keeps exactly keptCount(Σ lengths, sparsity). */
export function globalMagnitudeMasks(ws: readonly ArrayLike<number>[], sparsity: number): Uint8Array[] {
  const total = ws.reduce((s, w) => s + w.length, 0);
  const all = new Float32Array(total);
  let o = 0;
  for (const w of ws) for (let i = 0; i < w.length; i++) all[o++] = Math.abs(w[i]!);
  const mask = keepTop(all, keptCount(total, sparsity));
  o = 0;
  return ws.map((w) => mask.slice(o, (o += w.length)));
}

/** N:M mask of a (rows, cols) row-major matrix: the n largest |w| of every m consecutive inputs of a row. */
export function nmMask(w: ArrayLike<number>, rows: number, cols: number, n = 2, m = 4): Uint8Array {
  if (w.length !== rows * cols) throw new Error(`nmMask: ${w.length} weights for (${rows}, ${cols})`);
  if (!(n >= 0 && n <= m)) throw new RangeError(`nmMask: need 0 <= n <= m, got ${n}:${m}`);
  const mask = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c0 = 0; c0 < cols; c0 += m) {
      const o = r * cols + c0;
      const len = Math.min(m, cols - c0);
      for (let pick = 0; pick < Math.min(n, len); pick++) {
        let best = -1;
        let bestMag = -1;
        for (let j = 0; j < len; j++) {
          const a = Math.abs(w[o + j]!);
          if (mask[o + j] === 0 && a > bestMag) {
            best = j; // strict >: the lower index wins ties
            bestMag = a;
          }
        }
        mask[o + best] = 1;
      }
    }
  }
  return mask;
}

/** w ⊙ mask as a new array. */
export function applyMask(w: Float32Array, mask: Uint8Array): Float32Array {
  const out = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) if (mask[i]) out[i] = w[i]!;
  return out;
}

// ---- structured ----------------------------------------------------------------------------------------------

const sq = (a: Float32Array, from: number, to: number): number => {
  let s = 0;
  for (let i = from; i < to; i++) s += a[i]! * a[i]!;
  return s;
};
const sqCol = (a: Float32Array, rows: number, cols: number, c: number): number => {
  let s = 0;
  for (let r = 0; r < rows; r++) s += a[r * cols + c]! * a[r * cols + c]!;
  return s;
};

/** L2 score of every KV group and every FFN neuron of a full-size layer. */
export function unitScores(lw: LayerLinears, cfg: ModelConfig): { groups: Float64Array; neurons: Float64Array } {
  const { hiddenSize: H, intermediateSize: I, nHeads, nKvHeads, headDim: hd } = cfg;
  const per = nHeads / nKvHeads;
  const groups = new Float64Array(nKvHeads);
  for (let g = 0; g < nKvHeads; g++) {
    let s = sq(lw.k, g * hd * H, (g + 1) * hd * H) + sq(lw.v, g * hd * H, (g + 1) * hd * H);
    for (let h = g * per; h < (g + 1) * per; h++) {
      s += sq(lw.q, h * hd * H, (h + 1) * hd * H);
      for (let c = h * hd; c < (h + 1) * hd; c++) s += sqCol(lw.o, H, nHeads * hd, c);
    }
    groups[g] = Math.sqrt(s);
  }
  const neurons = new Float64Array(I);
  for (let i = 0; i < I; i++) neurons[i] = Math.sqrt((lw.gate ? sq(lw.gate, i * H, (i + 1) * H) : 0) + sq(lw.up, i * H, (i + 1) * H) + sqCol(lw.down, H, I, i));
  return { groups, neurons };
}

/** Keep masks per layer for `units`-sized score vectors (at least one unit per layer). */
function pickUnits(scores: Float64Array[], sparsity: number, scope: PruneSpec['scope']): Uint8Array[] {
  const units = scores[0]!.length;
  if (scope === 'layer') return scores.map((s) => keepTop(s, Math.max(1, keptCount(units, sparsity))));
  const L = scores.length;
  const k = Math.max(L, keptCount(units * L, sparsity));
  const best = scores.map((s) => keepTop(s, 1).indexOf(1)); // each layer's reserved unit
  const rest = new Float64Array(units * L).fill(-1); // reserved units rank below everything else (scores >= 0)
  scores.forEach((s, l) => s.forEach((v, i) => i !== best[l] && (rest[l * units + i] = v)));
  const extra = keepTop(rest, k - L);
  return scores.map((_, l) => {
    const m = extra.slice(l * units, (l + 1) * units);
    m[best[l]!] = 1;
    return m;
  });
}

const indices = (m: Uint8Array): number[] => [...m.keys()].filter((i) => m[i]);

/** Which KV groups (with their query heads) and FFN neurons each layer keeps. */
export function structuredPlan(layers: readonly LayerLinears[], cfg: ModelConfig, spec: PruneSpec): LayerPlan[] {
  const { nHeads, nKvHeads, intermediateSize: I } = cfg;
  const per = nHeads / nKvHeads;
  const scores = layers.map((lw) => unitScores(lw, cfg));
  const all = (n: number) => new Uint8Array(n).fill(1);
  const gMasks = spec.targets.attention ? pickUnits(scores.map((s) => s.groups), spec.sparsity, spec.scope) : layers.map(() => all(nKvHeads));
  const nMasks = spec.targets.ffn ? pickUnits(scores.map((s) => s.neurons), spec.sparsity, spec.scope) : layers.map(() => all(I));
  return layers.map((_, l) => {
    const kvHeads = indices(gMasks[l]!);
    return { kvHeads, heads: kvHeads.flatMap((g) => Array.from({ length: per }, (_, j) => g * per + j)), neurons: indices(nMasks[l]!) };
  });
}

/** Row blocks `keep` (block = `block` rows of `cols` values) of a row-major matrix, in order. */
function gatherRows(a: Float32Array, cols: number, keep: number[], block: number): Float32Array {
  const out = new Float32Array(keep.length * block * cols);
  keep.forEach((u, j) => out.set(a.subarray(u * block * cols, (u + 1) * block * cols), j * block * cols));
  return out;
}
/** Column blocks `keep` (block = `block` columns) of a (rows, cols) row-major matrix, in order. */
function gatherCols(a: Float32Array, rows: number, cols: number, keep: number[], block: number): Float32Array {
  const nc = keep.length * block;
  const out = new Float32Array(rows * nc);
  for (let r = 0; r < rows; r++) keep.forEach((u, j) => out.set(a.subarray(r * cols + u * block, r * cols + (u + 1) * block), r * nc + j * block));
  return out;
}
const gatherBias = (b: Float32Array | null, keep: number[], block: number) => (b ? gatherRows(b, 1, keep, block) : null);

/** A physically smaller layer: q/k/v rows, o columns, gate/up rows and down columns of the kept units only. */
export function shrinkLayer(lw: LayerLinears, cfg: ModelConfig, p: LayerPlan): LayerLinears {
  const { hiddenSize: H, intermediateSize: I, nHeads, headDim: hd } = cfg;
  return {
    q: gatherRows(lw.q, H, p.heads, hd), k: gatherRows(lw.k, H, p.kvHeads, hd), v: gatherRows(lw.v, H, p.kvHeads, hd),
    o: gatherCols(lw.o, H, nHeads * hd, p.heads, hd),
    gate: lw.gate && gatherRows(lw.gate, H, p.neurons, 1), up: gatherRows(lw.up, H, p.neurons, 1), down: gatherCols(lw.down, H, I, p.neurons, 1),
    qBias: gatherBias(lw.qBias, p.heads, hd), kBias: gatherBias(lw.kBias, p.kvHeads, hd), vBias: gatherBias(lw.vBias, p.kvHeads, hd),
    oBias: lw.oBias, upBias: gatherBias(lw.upBias, p.neurons, 1), downBias: lw.downBias,
  };
}

/** The same function at full size: every weight (and bias) of a pruned unit set to zero. */
export function maskLayer(lw: LayerLinears, cfg: ModelConfig, p: LayerPlan): LayerLinears {
  const { hiddenSize: H, intermediateSize: I, nHeads, nKvHeads, headDim: hd } = cfg;
  const rowMask = (rows: number, cols: number, keep: number[], block: number) => {
    const m = new Uint8Array(rows * cols);
    for (const u of keep) m.fill(1, u * block * cols, (u + 1) * block * cols);
    return m;
  };
  const colMask = (rows: number, cols: number, keep: number[], block: number) => {
    const m = new Uint8Array(rows * cols);
    for (let r = 0; r < rows; r++) for (const u of keep) m.fill(1, r * cols + u * block, r * cols + (u + 1) * block);
    return m;
  };
  const qm = rowMask(nHeads, hd * H, p.heads, 1);
  const kvm = rowMask(nKvHeads, hd * H, p.kvHeads, 1);
  const fm = rowMask(I, H, p.neurons, 1);
  const bias = (b: Float32Array | null, n: number, keep: number[]) => (b ? applyMask(b, rowMask(n, hd, keep, 1)) : null);
  return {
    q: applyMask(lw.q, qm), k: applyMask(lw.k, kvm), v: applyMask(lw.v, kvm), o: applyMask(lw.o, colMask(H, nHeads * hd, p.heads, hd)),
    gate: lw.gate && applyMask(lw.gate, fm), up: applyMask(lw.up, fm), down: applyMask(lw.down, colMask(H, I, p.neurons, 1)),
    qBias: bias(lw.qBias, nHeads, p.heads), kBias: bias(lw.kBias, nKvHeads, p.kvHeads), vBias: bias(lw.vBias, nKvHeads, p.kvHeads),
    oBias: lw.oBias, upBias: lw.upBias && applyMask(lw.upBias, rowMask(I, 1, p.neurons, 1)), downBias: lw.downBias,
  };
}

// ---- whole model -----------------------------------------------------------------------------------------------

export interface PrunedLayers {
  masked: LayerLinears[]; // full-size, pruned weights zeroed (the reference's view; what the sparse formats pack)
  shrunk: LayerLinears[] | null; // structured only: physically smaller layers (what the GPU runs)
  plan: LayerPlan[] | null; // structured only
  report: PruneReport;
}

/** Prune every block's linears per `spec`. Inputs are never modified; untargeted tensors are shared. */
export function pruneLayers(layers: readonly LayerLinears[], cfg: ModelConfig, spec: PruneSpec): PrunedLayers {
  const keys = linearKeys(cfg);
  const targets = keys.filter((k) => isTarget(spec, k));
  let masked: LayerLinears[] = layers.map((lw) => ({ ...lw }));
  let shrunk: LayerLinears[] | null = null;
  let plan: LayerPlan[] | null = null;
  const keptOf = new Map<string, number>(); // `${layer}.${key}` -> kept weights (mask kinds)
  const put = (l: number, k: LinearKey, mask: Uint8Array) => {
    masked[l]![k] = applyMask(W(layers[l]!, k), mask);
    let kept = 0;
    for (let i = 0; i < mask.length; i++) kept += mask[i]!;
    keptOf.set(`${l}.${k}`, kept);
  };
  if (spec.kind === 'structured') {
    keptCount(1, spec.sparsity); // validates
    plan = structuredPlan(layers, cfg, spec);
    masked = layers.map((lw, l) => maskLayer(lw, cfg, plan![l]!));
    shrunk = layers.map((lw, l) => shrinkLayer(lw, cfg, plan![l]!));
  } else if (spec.kind === '2:4') {
    layers.forEach((lw, l) => targets.forEach((k) => put(l, k, nmMask(W(lw, k), ...linearShape(cfg, k)))));
  } else if (spec.kind === 'unstructured' && spec.scope === 'global') {
    const masks = globalMagnitudeMasks(layers.flatMap((lw) => targets.map((k) => W(lw, k))), spec.sparsity);
    layers.forEach((_, l) => targets.forEach((k, j) => put(l, k, masks[l * targets.length + j]!)));
  } else if (spec.kind === 'unstructured') {
    layers.forEach((lw, l) => targets.forEach((k) => put(l, k, magnitudeMask(W(lw, k), spec.sparsity))));
  }
  const { nHeads, nKvHeads, intermediateSize: I } = cfg;
  const tensors: TensorReport[] = [];
  layers.forEach((lw, l) => {
    for (const k of keys) {
      const [rows0, cols0] = linearShape(cfg, k);
      const pruned = targets.includes(k);
      const s = shrunk ? W(shrunk[l]!, k) : undefined;
      const rows = s ? (k === 'o' || k === 'down' ? rows0 : s.length / cols0) : rows0;
      const cols = s ? s.length / rows : cols0;
      const kept = !pruned ? W(lw, k).length : s ? s.length : keptOf.get(`${l}.${k}`)!;
      tensors.push({ name: linearName(l, k), rows, cols, kept, total: W(lw, k).length, pruned });
    }
  });
  const t = tensors.filter((x) => x.pruned);
  const kept = t.reduce((s, x) => s + x.kept, 0);
  const total = t.reduce((s, x) => s + x.total, 0);
  const layerDims = layers.map((_, l) => ({
    heads: plan ? plan[l]!.heads.length : nHeads,
    kvHeads: plan ? plan[l]!.kvHeads.length : nKvHeads,
    inter: plan ? plan[l]!.neurons.length : I,
  }));
  return { masked, shrunk, plan, report: { kind: spec.kind, kept, total, sparsity: total ? 1 - kept / total : 0, tensors, layers: layerDims } };
}

/**
 * Prune host weights. `weights` is always full-size and dense with the pruned weights zeroed (structured: whole
 * units zeroed), so src/ref/forward.ts runs it unchanged; `shrunk` (structured) holds the smaller layers.
 */
export function pruneHost(w: HostWeights, cfg: ModelConfig, spec: PruneSpec): { weights: HostWeights; report: PruneReport; shrunk: LayerLinears[] | null; plan: LayerPlan[] | null } {
  const r = pruneLayers(w.layers, cfg, spec);
  const weights: HostWeights = { ...w, layers: w.layers.map((lw, l) => ({ ...lw, ...r.masked[l]! })) };
  return { weights, report: r.report, shrunk: r.shrunk, plan: r.plan };
}
