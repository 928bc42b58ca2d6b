// CPU reference (float64) for shaders/embedding.wgsl.
//   table: (vocab, dim) row-major, ids: (n) → out: (n, dim),  out[t, :] = table[ids[t], :]
//   An id outside [0, vocab) gives a row of zeros (vocab = table.length / dim), as the kernel does.
import type { Vec } from './linear';

export function embed(table: Vec, ids: ArrayLike<number>, dim: number): Float64Array {
  const vocab = Math.floor(table.length / dim);
  const out = new Float64Array(ids.length * dim);
  for (let t = 0; t < ids.length; t++) {
    const id = ids[t]!;
    if (!(id >= 0 && id < vocab && Number.isInteger(id))) continue;
    for (let c = 0; c < dim; c++) out[t * dim + c] = table[id * dim + c]!;
  }
  return out;
}
