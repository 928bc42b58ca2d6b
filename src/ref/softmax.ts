// CPU reference (float64) for shaders/softmax.wgsl. x: (rows, cols) row-major → (rows, cols).
//   y[r, c] = exp(x[r, c] − m_r) / Σ_c' exp(x[r, c'] − m_r),  m_r = max_c x[r, c]  (max-subtracted: no overflow)
import type { Vec } from './linear';

export function softmax(x: Vec, rows: number, cols: number): Float64Array {
  const y = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let m = -Infinity;
    for (let c = 0; c < cols; c++) m = Math.max(m, x[o + c]!);
    let s = 0;
    for (let c = 0; c < cols; c++) {
      const e = Math.exp(x[o + c]! - m);
      y[o + c] = e;
      s += e;
    }
    for (let c = 0; c < cols; c++) y[o + c] = y[o + c]! / s;
  }
  return y;
}
