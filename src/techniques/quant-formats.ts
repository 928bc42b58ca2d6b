// Quantized linear formats ('q8', 'q4', 'q4z') for the format registry of src/model/linear.ts, and the live
// precision switch: re-pack every linear layer of a loaded GpuModel from its f32 host master copy. The forward pass
// never changes; it calls applyLinear() and the registry runs gemv_quant (one token) or matmul_quant (many).
// Importing this module registers the formats.
//
// Precisions: 'f32' (dense, the f32 kernels), 'int8' → q8, 'int4' → q4, 'int4z' → q4z (src/techniques/quantize.ts
// defines the packing), 'f16' → format 'f16' (src/ref/f16.ts defines the packing: two binary16 per u32, round to
// nearest even; kernels gemv_f16 / matmul_f16, f32 accumulation). f16 is f16 STORAGE: it runs on every adapter —
// through unpack2x16float (core WGSL) where the device lacks 'shader-f16', through native f16 loads where it has
// it (chosen at pack time from gpu.traits.hasF16, recorded in meta.storage).
//
// Default mixed scheme (defaultPlan), embedding table included (embeddingSpec):
//   f32   → every linear f32; embedding f32 (a tied head shares it).
//   f16   → every linear f16 (the lm_head too); embedding f16, and a tied head IS the f16 embedding (one copy).
//           Half the f32 bytes per linear, so half the linears' bytes per token in the roofline.
//   int8  → every linear q8 with the chosen group (32 by default; the lm_head too); embedding q8 — with a tied head
//           in the head's group (one shared copy), else group 32.
//   int4 / int4z → body q4 / q4z with the chosen group (32 by default); lm_head q8 group 32 — the head is the
//           layer most sensitive to quantization (its error lands directly on the logits), as in llama.cpp's
//           Q4_K_M keeping output.weight at 6 bits. Embedding q8 g32; a tied head IS that q8 embedding.
//   Measured on the embedded lab-target (CPU reference, 762 held-out tokens in 128-token windows): nll/token f32
//   3.3885, int8 g32 3.3882, int4 g32 3.3909 (q8 head) / 3.3903 (q4 head), int4 g128 3.4016, int4z g32 3.3960 —
//   the q8 head made no measurable difference there; it stays as the conservative default (+128 KiB).
//   The embedding table (embeddingSpec): a tied head whose spec is f32, f16 or int8 makes the table that spec and
//   shares it (tiedHead: the gemv/matmul f16 and q8 kernels read exactly the table's buffers); otherwise (untied,
//   or a tied head the user set to int4/int4z/'file', which then gets its own packed copy) the table follows the
//   body: f16 → f16, int8/int4/int4z → q8 g32, f32/'file' → f32. shaders/embedding_packed.wgsl gathers f16/q8
//   rows, dequantized exactly as the linear kernels do, so the forward pass sees the same ŵ in both roles. The
//   table is re-packed from GpuModel.embedMaster (the f32 host table) on a switch; f32 restores the f32 table.
// Biases (Qwen2 q/k/v) stay f32.
//
// Precision 'file' ("as in the model file"): each linear keeps the storage its file gave it. A master that carries
// `packed` (GGUF Q8_0 / Q4_0 → q8 / q4 group 32, LoadedModel.prepacked) is uploaded with exactly those codes and
// scales (uploadPacked), never re-quantized; a master without one is f32. It is the engine's setting right after
// loading such a file; switching to f32 and back to 'file' restores the file's codes. With pruning, pruned
// layers have new masters without `packed` and so run f32.

import type { Gpu } from '../gpu/device';
import type { AdapterTraits } from '../gpu/kernel';
import { f16Storage } from '../kernels/gemv-f16';
import { type EmbeddingSpec, type EmbeddingTable, sharesTable, tiedHead, uploadEmbedding } from '../model/embedding-table';
import { type LinearWeight, type RowPart, uploadLinear, uploadRows } from '../model/linear';
import type { GpuModel } from '../model/transformer';
import type { HostWeights } from '../model/weights';
import { checkF16Range, packF16, roundTripF16 } from '../ref/f16';
import './packed-formats'; // registers the q8/q4/q4z and f16 linear formats with the forward pass
import { bitsPerWeight, checkGroupSize, FORMAT_OF, type Packed, type Precision, quantize, type QuantFormat, type QuantSpec, roundTrip } from './quantize';

export type { Precision, QuantSpec } from './quantize';

/** Which spec each linear gets; the embedding table follows from it (embeddingSpec). */
export interface QuantPlan {
  default: QuantSpec;
  /** The lm_head's spec (tied or not); default: plan.default. */
  lmHead?: QuantSpec;
}

/** The tied head's LinearWeight name (see GpuModel); its master is the embedding table. */
export const TIED_HEAD = 'lm_head (tied)';

/**
 * Why a precision cannot be chosen on this adapter, or null when it can (for the UI's control). Every precision
 * runs everywhere: f16 without 'shader-f16' takes the unpack2x16float path (see f16KernelLabel).
 */
export function precisionUnavailable(_p: Precision, _traits: Pick<AdapterTraits, 'hasF16'>): string | null {
  return null;
}

/** How f16 weights run on this adapter (meta.kernel of an f16 layer). */
export const f16KernelLabel = (traits: Pick<AdapterTraits, 'hasF16'>): string =>
  f16Storage(traits) === 'native' ? 'native f16 loads (shader-f16)' : 'unpack2x16float (no shader-f16)';

/** The default plan for a precision (see the file header). */
export function defaultPlan(precision: Precision, groupSize = 32): QuantPlan {
  const spec = { precision, groupSize };
  if (precision === 'int4' || precision === 'int4z') return { default: spec, lmHead: { precision: 'int8', groupSize: 32 } };
  return { default: spec };
}

/**
 * The embedding table's storage under `plan` (see the file header): f32, f16 or int8 (q8 with groupSize). A tied
 * head whose spec is one of those shares the table, so the table takes the head's spec exactly.
 */
export function embeddingSpec(plan: QuantPlan, tied: boolean): QuantSpec {
  const head = plan.lmHead ?? plan.default;
  if (tied && (head.precision === 'f32' || head.precision === 'f16' || head.precision === 'int8')) return head;
  const p = plan.default.precision;
  if (p === 'f16') return { precision: 'f16', groupSize: 0 };
  if (p === 'int8' || p === 'int4' || p === 'int4z') return { precision: 'int8', groupSize: 32 };
  return { precision: 'f32', groupSize: 0 };
}

/** A table's EmbeddingSpec for `spec` (f32 / f16 / int8), with the meta a tied head over it shows. */
export function embeddingStorage(gpu: Gpu, spec: QuantSpec): EmbeddingSpec {
  if (spec.precision === 'f16') {
    return { format: 'f16', meta: { precision: 'f16', bitsPerWeight: 16, storage: f16Storage(gpu.traits), kernel: f16KernelLabel(gpu.traits) } };
  }
  if (spec.precision === 'int8') {
    checkGroupSize(spec.groupSize);
    return { format: 'q8', groupSize: spec.groupSize, meta: { precision: 'int8', groupSize: spec.groupSize, bitsPerWeight: bitsPerWeight('q8', spec.groupSize) } };
  }
  if (spec.precision !== 'f32') throw new Error(`embedding table: no ${spec.precision} storage (f32, f16 or int8)`);
  return { format: 'f32', meta: { precision: 'f32', bitsPerWeight: 32 } };
}

/** The table is already stored as `spec`. */
function sameTable(t: EmbeddingTable, spec: QuantSpec): boolean {
  if (spec.precision === 'int8') return t.format === 'q8' && t.groupSize === spec.groupSize;
  return t.format === (spec.precision === 'f16' ? 'f16' : 'f32');
}

/** The head spec shares the table stored as `spec` (same storage). */
const sharedSpec = (head: QuantSpec, table: QuantSpec) =>
  head.precision === table.precision && (head.precision !== 'int8' || head.groupSize === table.groupSize);

function formatOf(spec: QuantSpec): QuantFormat | 'f32' | 'f16' {
  if (spec.precision === 'file') throw new Error("precision 'file' has no single format: applyPrecision resolves it per layer");
  if (spec.precision === 'f32' || spec.precision === 'f16') return spec.precision;
  return FORMAT_OF[spec.precision];
}

function checkSpec(spec: QuantSpec): void {
  const fmt = formatOf(spec);
  if (fmt !== 'f32' && fmt !== 'f16') checkGroupSize(spec.groupSize);
}

/**
 * A LinearWeight in `spec`'s storage, uploaded from the f32 master W (rows, cols) with purpose 'weights':
 * f32 → { W }; f16 → { W (rows, ceil(cols / 2)) u32 } (src/ref/f16.ts; F16RangeError for |w| ≥ 65520);
 * q8/q4 → { Wq (rows, wordsPerRow) u32, scales (rows, nGroups) f32 }; q4z adds zeros (rows, nGroups).
 * meta: { precision, groupSize, bitsPerWeight } (groupSize is what the kernels read); f16: { precision,
 * bitsPerWeight, storage: 'unpack' | 'native' (which kernels run it), kernel (a label for the UI) }.
 */
export function packLinear(gpu: Gpu, name: string, rows: number, cols: number, W: Float32Array, bias: Float32Array | null, spec: QuantSpec): LinearWeight {
  if (W.length !== rows * cols) throw new Error(`${name}: master has ${W.length} values, the layer is (${rows}, ${cols})`);
  const fmt = formatOf(spec);
  if (fmt === 'f32') return { ...uploadLinear(gpu, name, rows, cols, W, bias), meta: { precision: 'f32', bitsPerWeight: 32 } };
  if (fmt === 'f16') {
    const h = packF16(W, rows, cols, name);
    const meta = { precision: 'f16', bitsPerWeight: 16, storage: f16Storage(gpu.traits), kernel: f16KernelLabel(gpu.traits) };
    return uploadRows(gpu, { name, rows, cols, format: 'f16', meta }, [{ key: 'W', label: `${name}:f16`, data: h.words, perRow: h.wordsPerRow }], bias);
  }
  return uploadPacked(gpu, name, quantize(W, rows, cols, fmt, spec.groupSize), bias, spec.precision);
}

/** A LinearWeight holding packed codes `p` exactly as they are (q8/q4/q4z), with purpose 'weights'. */
export function uploadPacked(gpu: Gpu, name: string, p: Packed, bias: Float32Array | null, precision: Precision): LinearWeight {
  const { rows, cols, format: fmt } = p;
  const ng = p.scales.length / rows;
  // row-major parts: uploadRows splits them into row chunks when one exceeds the binding limit (src/model/linear.ts)
  const parts: RowPart[] = [
    { key: 'Wq', label: `${name}:${fmt}`, data: p.words, perRow: p.wordsPerRow },
    { key: 'scales', label: `${name}:scales`, data: p.scales, perRow: ng },
  ];
  if (p.zeros) parts.push({ key: 'zeros', label: `${name}:zeros`, data: p.zeros, perRow: ng });
  const meta = { precision, groupSize: p.groupSize, bitsPerWeight: bitsPerWeight(fmt, p.groupSize) };
  return uploadRows(gpu, { name, rows, cols, format: fmt, meta }, parts, bias);
}

const isHead = (name: string) => name === TIED_HEAD || name === 'lm_head.weight';

/** The spec `plan` gives the linear named `name`. */
export function specFor(name: string, plan: QuantPlan): QuantSpec {
  return isHead(name) ? (plan.lmHead ?? plan.default) : plan.default;
}

/**
 * A linear's f32 master: a bare (rows, cols) array (its bias, if any, under the HF bias name '….bias'), or an
 * entry carrying its bias, as sparse-formats.ts' MasterEntry / pruneMasters() output does (prune first,
 * quantize second: pass the pruned masters here).
 */
export type QuantMaster = Float32Array | { W: Float32Array; bias: Float32Array | null; packed?: Packed | null };
export type QuantMasters = ReadonlyMap<string, QuantMaster>;

function masterOf(masters: QuantMasters, name: string): { W: Float32Array; bias: Float32Array | null; packed?: Packed | null } | null {
  const m = masters.get(name);
  if (!m) return null;
  if (!(m instanceof Float32Array)) return { W: m.W, bias: m.bias, packed: m.packed ?? null };
  const b = name.endsWith('.weight') ? masters.get(name.replace(/weight$/, 'bias')) : undefined;
  return { W: m, bias: b instanceof Float32Array ? b : (b?.W ?? null) };
}

const QUANT_FORMATS: readonly string[] = ['q8', 'q4', 'q4z', 'f16'];

/**
 * Already stored as `spec` (so a toggle leaves it alone). For an f32 spec any unquantized format counts (dense
 * 'f32', or pruning's 'sparse' / '2:4', whose values are f32): prune first, then applyPrecision(f32) keeps them.
 */
function sameStorage(l: LinearWeight, spec: QuantSpec): boolean {
  const fmt = formatOf(spec);
  if (fmt === 'f32') return !QUANT_FORMATS.includes(l.format);
  if (fmt === 'f16') return l.format === 'f16';
  return l.format === fmt && Number(l.meta?.['groupSize']) === spec.groupSize;
}

/**
 * Re-pack every linear of `model` from its f32 master (masters: see mastersFromHost) to the plan's specs, via
 * model.replaceLinears (old tensors released after the new exist). Layers already in their target storage are
 * kept (for f32: any unquantized format, so pruned 'sparse'/'2:4' layers stay), unless opts.repackAll (every
 * layer re-packed from `masters`; use it when the masters changed under a quantized layer). A tied head going back
 * The embedding table is re-packed to embeddingSpec(plan) from model.embedMaster when its storage differs; a
 * tied head whose spec matches the table's is a view over it (tiedHead), so GPU bytes return to the same figure
 * for the same plan. Everything is validated (and the new table packed) before the model is touched; throws on a
 * missing master or a shape mismatch for a layer that must be re-packed, or (F16RangeError) a weight an f16 layer
 * or table cannot store.
 */
export function applyPrecision(gpu: Gpu, model: GpuModel, masters: QuantMasters, plan: QuantPlan, opts: { repackAll?: boolean } = {}): void {
  const tied = model.lmHead.name === TIED_HEAD;
  const es = embeddingSpec(plan, tied);
  const t0 = model.embed;
  const repackTable = !sameTable(t0, es);
  const tableStorage = embeddingStorage(gpu, es);
  if (repackTable && es.precision === 'f16') checkF16Range(model.embedMaster, t0.dim, t0.name);
  const targets = new Map<LinearWeight, { spec: QuantSpec; W: Float32Array; bias: Float32Array | null; packed?: Packed | null }>();
  let view = false; // the tied head becomes (or is remade as) a view over the new table
  for (const l of model.linears()) {
    let spec = specFor(l.name, plan);
    const fromFile = spec.precision === 'file' ? (masterOf(masters, l.name)?.packed ?? null) : null;
    if (spec.precision === 'file') spec = fileSpec(fromFile); // this layer's storage in the file
    checkSpec(spec);
    if (l.name === TIED_HEAD && !fromFile && sharedSpec(spec, es)) {
      view = repackTable || !model.headSharesEmbedding();
      continue;
    }
    // kept as it is (its master is not needed); file codes are always re-uploaded: a q4 g32 layer may hold other codes;
    // a head over a table being replaced is always re-made
    if (!opts.repackAll && !fromFile && sameStorage(l, spec) && !(repackTable && sharesTable(l, t0))) continue;
    const m = masterOf(masters, l.name);
    if (!m) throw new Error(`applyPrecision: no f32 master for '${l.name}'`);
    if (m.W.length !== l.rows * l.cols) throw new Error(`applyPrecision: master '${l.name}' has ${m.W.length} values, the layer is (${l.rows}, ${l.cols})`);
    if (spec.precision === 'f16') checkF16Range(m.W, l.cols, l.name);
    const packed = fromFile;
    if (packed && (packed.rows !== l.rows || packed.cols !== l.cols)) throw new Error(`applyPrecision: packed '${l.name}' is (${packed.rows}, ${packed.cols}), the layer (${l.rows}, ${l.cols})`);
    targets.set(l, { spec, W: m.W, bias: m.bias, packed });
  }
  const table = repackTable ? uploadEmbedding(gpu, t0.name, t0.vocab, t0.dim, model.embedMaster, tableStorage) : t0;
  model.replaceLinears((old) => {
    if (old.name === TIED_HEAD && view) return tiedHead(gpu, model.embed);
    const t = targets.get(old);
    if (!t) return old;
    const { spec, W, bias, packed } = t;
    if (packed) return uploadPacked(gpu, old.name, packed, bias, 'file');
    return packLinear(gpu, old.name, old.rows, old.cols, W, bias, spec);
  }, table);
}

/** What precision 'file' means for one layer: the packed format it was loaded in, or f32. */
function fileSpec(packed: Packed | null): QuantSpec {
  if (!packed) return { precision: 'f32', groupSize: 0 };
  return { precision: packed.format === 'q8' ? 'int8' : packed.format === 'q4' ? 'int4' : 'int4z', groupSize: packed.groupSize };
}

/** Per-layer name of each linear, as GpuModel names them, with its host array. */
function hostLinears(w: HostWeights): [string, Float32Array][] {
  const out: [string, Float32Array][] = [];
  w.layers.forEach((lw, i) => {
    const p = `model.layers.${i}`;
    out.push(
      [`${p}.self_attn.q_proj.weight`, lw.q], [`${p}.self_attn.k_proj.weight`, lw.k], [`${p}.self_attn.v_proj.weight`, lw.v],
      [`${p}.self_attn.o_proj.weight`, lw.o], ...(lw.gate ? [[`${p}.mlp.gate_proj.weight`, lw.gate] as [string, Float32Array]] : []),
      [`${p}.mlp.up_proj.weight`, lw.up], [`${p}.mlp.down_proj.weight`, lw.down],
    );
  });
  out.push(w.lmHead === w.embed ? [TIED_HEAD, w.embed] : ['lm_head.weight', w.lmHead]);
  return out;
}

/** f32 masters keyed by LinearWeight.name (tied head: the embedding), plus bias masters (q/k/v; o/up/down for GPT-2) by bias name. */
export function mastersFromHost(w: HostWeights): Map<string, Float32Array> {
  const m = new Map<string, Float32Array>(hostLinears(w));
  w.layers.forEach((lw, i) => {
    const a = `model.layers.${i}.self_attn`;
    const f = `model.layers.${i}.mlp`;
    if (lw.qBias) m.set(`${a}.q_proj.bias`, lw.qBias);
    if (lw.kBias) m.set(`${a}.k_proj.bias`, lw.kBias);
    if (lw.vBias) m.set(`${a}.v_proj.bias`, lw.vBias);
    if (lw.oBias) m.set(`${a}.o_proj.bias`, lw.oBias);
    if (lw.upBias) m.set(`${f}.up_proj.bias`, lw.upBias);
    if (lw.downBias) m.set(`${f}.down_proj.bias`, lw.downBias);
  });
  return m;
}

/**
 * HostWeights whose linears and embedding table are exactly the dequantized weights `plan` gives (quantize →
 * dequantize; f16: packF16 → unpackF16; the table per embeddingSpec), so the CPU reference (src/ref/forward.ts)
 * can run what the GPU runs. Norms and biases are unchanged; a tied head that shares the table stays the same
 * array as the embedding, one stored apart (int4/int4z/'file' head) becomes its own array.
 */
export function dequantizedHostWeights(w: HostWeights, plan: QuantPlan): HostWeights {
  const H = w.finalNorm.length;
  const deq = (name: string, W: Float32Array, cols: number): Float32Array => {
    const spec = specFor(name, plan);
    const fmt = formatOf(spec);
    if (fmt === 'f16') return roundTripF16(W, W.length / cols, cols, name);
    return fmt === 'f32' ? W : roundTrip(W, W.length / cols, cols, fmt, spec.groupSize);
  };
  const layers = w.layers.map((lw, i) => {
    const p = `model.layers.${i}`;
    const I = lw.down.length / H; // down: (hidden, inter)
    const qDim = lw.o.length / H; // o: (hidden, nHeads*headDim)
    return {
      ...lw,
      q: deq(`${p}.self_attn.q_proj.weight`, lw.q, H),
      k: deq(`${p}.self_attn.k_proj.weight`, lw.k, H),
      v: deq(`${p}.self_attn.v_proj.weight`, lw.v, H),
      o: deq(`${p}.self_attn.o_proj.weight`, lw.o, qDim),
      gate: lw.gate && deq(`${p}.mlp.gate_proj.weight`, lw.gate, H),
      up: deq(`${p}.mlp.up_proj.weight`, lw.up, H),
      down: deq(`${p}.mlp.down_proj.weight`, lw.down, I),
    };
  });
  const tied = w.lmHead === w.embed;
  const es = embeddingSpec(plan, tied);
  const embed = es.precision === 'f32' ? w.embed
    : es.precision === 'f16' ? roundTripF16(w.embed, w.embed.length / H, H, 'model.embed_tokens.weight')
    : roundTrip(w.embed, w.embed.length / H, H, 'q8', es.groupSize);
  const lmHead = tied && sharedSpec(specFor(TIED_HEAD, plan), es) ? embed : deq(tied ? TIED_HEAD : 'lm_head.weight', w.lmHead, H);
  return { ...w, embed, layers, lmHead };
}
