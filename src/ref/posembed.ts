// CPU reference (float64) for shaders/posembed.wgsl: learned absolute position embeddings (GPT-2's wpe).
//   x: (n, dim) row-major, table: (rows, dim) row-major → x + table rows pos0 .. pos0+n−1: (n, dim)
//   out[t, c] = x[t, c] + table[pos0 + t, c], and x[t, c] when pos0 + t >= rows (as the kernel's guard).
import type { Vec } from './linear';

export function addPositions(x: Vec, table: Vec, n: number, dim: number, pos0: number): Float64Array {
  const rows = Math.floor(table.length / dim);
  const out = new Float64Array(n * dim);
  for (let t = 0; t < n; t++) {
    const p = pos0 + t;
    for (let c = 0; c < dim; c++) out[t * dim + c] = x[t * dim + c]! + (p < rows ? table[p * dim + c]! : 0);
  }
  return out;
}
