// A linear layer's weights on the GPU and the one call that applies them. The forward pass only ever calls
// applyLinear(); how the weights are stored (f32, int8/int4 groups, sparse, 2:4, …) is the layer's `format`,
// and each format registers how it runs (GEMV for one token, matmul for many) and how many bytes it reads.
// Techniques make new LinearWeights from the host master copy; they never touch the forward pass.
//
// Row split (weights larger than one storage binding, gpu.maxBindingBytes): uploadRows() cuts a layer whose
// storage is row-major (every tensor (rows, perRow)) into row chunks, each a whole LinearWeight of its own
// (chunk i: rows [row0, row0 + rows), its own bias slice). The outer LinearWeight keeps name/rows/cols/format/
// meta, lists the chunks in `chunks`, and holds every chunk tensor in `tensors` under '<key>#<i>' (so
// releaseLinear/linearBytes work unchanged); its `bias` is null. applyLinear runs each chunk into y (n, rows):
//   - formats that place rows (f32: the gemv/matmul uniforms yOff, ldy) write the chunk's columns directly;
//   - others run into a scratch output (n, chunkRows) then copy each token's row slice into place (n copies
//     per chunk; with accumulate, y's slice is copied into the scratch first). Identical results either way.
// Chunk sizes: as many rows as fit the limit, rounded down to a multiple of 16 (4, 1 when rows are huge), so row
// offsets stay aligned; the last chunk takes the rest (uneven).

import type { Gpu } from '../gpu/device';
import { GpuLimitError } from '../gpu/errors';
import type { BufferPool } from '../gpu/pool';
import type { Recorder } from '../gpu/recorder';
import type { GpuTensor } from '../gpu/tensor';
import { gemv } from '../kernels/gemv';
import { matmul } from '../kernels/matmul';

export interface LinearWeight {
  name: string; // HF tensor name, e.g. model.layers.0.self_attn.q_proj.weight
  rows: number; // out_features
  cols: number; // in_features
  format: string; // key into the format registry: 'f32', 'q8', 'q4', …
  tensors: Record<string, GpuTensor>; // the format's storage, e.g. f32: { W: (rows, cols) }
  bias: GpuTensor | null; // (rows)
  /** Format details shown in the UI (e.g. { groupSize: 32 }, { sparsity: 0.5, kernel: 'csr' }). */
  meta?: Record<string, string | number | boolean>;
  /** Row split (see the file header): present only when the layer exceeds the binding limit. */
  chunks?: readonly LinearChunk[];
  /** Scratch outputs of a split layer whose format does not place rows (allocated on first use). */
  scratch?: ChunkScratch;
}

/** Rows [row0, row0 + w.rows) of a split layer. */
export interface LinearChunk {
  row0: number;
  w: LinearWeight;
}

/** Where a layer's rows land in y: y[t, r] at y[t·ldy + yOff + r]. Unsplit: { yOff: 0, ldy: rows }. */
export interface OutRows {
  yOff: number;
  ldy: number;
}

export interface LinearFormat {
  name: string;
  /** y (n, rows) = x (n, cols) · Wᵀ (+ b) (+ y when accumulate); with `out`, rows are placed as OutRows says. */
  apply(rec: Recorder, l: LinearWeight, x: GpuTensor, y: GpuTensor, n: number, accumulate: boolean, out?: OutRows): void;
  /** The format honours `out`. Otherwise a split layer's chunks run through scratch outputs and copies. */
  placesRows?: boolean;
}

const formats = new Map<string, LinearFormat>();

export function registerFormat(f: LinearFormat): void {
  formats.set(f.name, f);
}

/** Dense f32: gemv for one token, matmul for many. */
registerFormat({
  name: 'f32',
  placesRows: true,
  apply(rec, l, x, y, n, accumulate, out = { yOff: 0, ldy: l.rows }) {
    const bias = l.bias !== null;
    const tensors = { W: l.tensors['W']!, x, b: l.bias ?? l.tensors['W']!, y };
    const { rows, cols } = l;
    if (n === 1) rec.run(gemv, { rows, cols, bias, accumulate }, tensors, { rows, cols, yOff: out.yOff });
    else rec.run(matmul, { n, rows, cols, bias, accumulate }, tensors, { n, rows, cols, yOff: out.yOff, ldy: out.ldy });
  },
});

function formatOf(l: LinearWeight): LinearFormat {
  const f = formats.get(l.format);
  if (!f) throw new Error(`${l.name}: no kernel registered for weight format '${l.format}'`);
  return f;
}

export function applyLinear(rec: Recorder, l: LinearWeight, x: GpuTensor, y: GpuTensor, n: number, accumulate = false): void {
  if (!l.chunks) {
    formatOf(l).apply(rec, l, x, y, n, accumulate);
    return;
  }
  for (const c of l.chunks) {
    const f = formatOf(c.w);
    if (f.placesRows) {
      f.apply(rec, c.w, x, y, n, accumulate, { yOff: c.row0, ldy: l.rows });
      continue;
    }
    if (!l.scratch) throw new Error(`${l.name}: split layer in format '${c.w.format}' has no scratch outputs`);
    const s = l.scratch.get(n);
    const cr = c.w.rows * 4;
    const row = (t: number) => (t * l.rows + c.row0) * 4; // byte offset of token t's slice in y
    if (accumulate) for (let t = 0; t < n; t++) rec.copy(y, s, cr, row(t), t * cr);
    f.apply(rec, c.w, x, s, n, accumulate);
    if (n === 1) rec.copy(s, y, cr, 0, row(0));
    else for (let t = 0; t < n; t++) rec.copy(s, y, cr, t * cr, row(t));
  }
}

/** Scratch outputs (n, chunkRows) of a split layer, one per token count; the decode one and the latest other kept. */
export class ChunkScratch {
  private byN = new Map<number, GpuTensor>();
  constructor(
    private readonly pool: BufferPool,
    private readonly name: string,
    readonly chunkRows: number,
  ) {}

  get(n: number): GpuTensor {
    let t = this.byN.get(n);
    if (t) return t;
    for (const [k, old] of this.byN) {
      if (k === 1 || n === 1) continue;
      this.pool.release(old);
      this.byN.delete(k);
    }
    t = this.pool.alloc(`${this.name}:chunk-out[n=${n}]`, [n, this.chunkRows], 'f32', 'activations');
    this.byN.set(n, t);
    return t;
  }

  /** Release the multi-token outputs (after a prefill); the decode one stays. */
  releaseBatch(): void {
    for (const [k, t] of this.byN) {
      if (k === 1) continue;
      this.pool.release(t);
      this.byN.delete(k);
    }
  }

  release(): void {
    for (const t of this.byN.values()) this.pool.release(t);
    this.byN.clear();
  }
}

/**
 * Row counts of the chunks a (rows, ·) weight is cut into when one row takes `bytesPerRow` bytes in its largest
 * tensor and a tensor may hold `limit` bytes: [rows] when it fits. Throws GpuLimitError when one row alone is over.
 */
export function chunkRows(rows: number, bytesPerRow: number, limit: number, what: string): number[] {
  if (rows * bytesPerRow <= limit) return [rows];
  let per = Math.floor(limit / bytesPerRow);
  if (per < 1) throw new GpuLimitError('maxStorageBufferBindingSize', bytesPerRow, limit, `one row of ${what}`);
  per = per >= 16 ? per - (per % 16) : per >= 4 ? per - (per % 4) : per;
  const out: number[] = [];
  for (let r = 0; r < rows; r += per) out.push(Math.min(per, rows - r));
  return out;
}

/** One row-major tensor of a layer's storage: (rows, perRow) values, uploaded under `label`. */
export interface RowPart {
  key: string;
  label: string;
  data: Float32Array | Uint32Array;
  perRow: number;
}

/**
 * Upload a layer whose storage is row-major `parts` (+ an optional f32 bias) as one LinearWeight, or a row-split one
 * when any tensor would exceed gpu.maxBindingBytes (see the file header). `base` carries name/rows/cols/format/meta.
 */
export function uploadRows(gpu: Gpu, base: Omit<LinearWeight, 'tensors' | 'bias' | 'chunks' | 'scratch'>, parts: readonly RowPart[], bias: Float32Array | null): LinearWeight {
  const { name, rows } = base;
  const biasLabel = name.replace(/weight$/, 'bias');
  const bytesPerRow = Math.max(4, ...parts.map((p) => p.perRow * 4));
  const sizes = chunkRows(rows, bytesPerRow, gpu.maxBindingBytes, `'${name}'`);
  const make = (r0: number, nr: number, suffix: string): Pick<LinearWeight, 'tensors' | 'bias'> => {
    const tensors: Record<string, GpuTensor> = {};
    for (const p of parts) tensors[p.key] = gpu.pool.fromArray(p.label + suffix, [nr, p.perRow], p.data.subarray(r0 * p.perRow, (r0 + nr) * p.perRow), 'weights');
    return { tensors, bias: bias ? gpu.pool.fromArray(biasLabel + suffix, [nr], bias.subarray(r0, r0 + nr), 'weights') : null };
  };
  if (sizes.length === 1) return { ...base, ...make(0, rows, '') };
  const chunks: LinearChunk[] = [];
  const tensors: Record<string, GpuTensor> = {};
  let r0 = 0;
  sizes.forEach((nr, i) => {
    const part = make(r0, nr, `[${r0}:${r0 + nr}]`);
    for (const [k, t] of Object.entries(part.tensors)) tensors[`${k}#${i}`] = t;
    if (part.bias) tensors[`bias#${i}`] = part.bias;
    chunks.push({ row0: r0, w: { ...base, name: `${name}[${r0}:${r0 + nr}]`, rows: nr, ...part } });
    r0 += nr;
  });
  const placed = formats.get(base.format)?.placesRows ?? false;
  return { ...base, tensors, bias: null, chunks, scratch: placed ? undefined : new ChunkScratch(gpu.pool, name, sizes[0]!) };
}

export function uploadLinear(gpu: Gpu, name: string, rows: number, cols: number, data: Float32Array, bias: Float32Array | null): LinearWeight {
  return uploadRows(gpu, { name, rows, cols, format: 'f32' }, [{ key: 'W', label: name, data, perRow: cols }], bias);
}

/** Release a layer's tensors, except those in `keep` (a tied head shares the embedding). */
export function releaseLinear(gpu: Gpu, l: LinearWeight, keep: readonly GpuTensor[] = []): void {
  for (const t of Object.values(l.tensors)) if (!keep.includes(t)) gpu.pool.release(t);
  gpu.pool.release(l.bias ?? undefined);
  l.scratch?.release();
}

/** Bytes one application reads from the weights (for the roofline meter). */
export function linearBytes(l: LinearWeight): number {
  let b = l.bias?.bytes ?? 0;
  for (const t of Object.values(l.tensors)) b += t.bytes;
  return b;
}
