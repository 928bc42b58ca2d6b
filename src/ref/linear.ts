// CPU reference (float64) for shaders/gemv.wgsl and shaders/matmul.wgsl.
//   W: (rows, cols) row-major, x: (n, cols) row-major, b: (rows) or null → y: (n, rows)
//   y[t, r] = sum_c W[r, c] * x[t, c] + b[r]   (+ residual[t, r] when given)

export type Vec = ArrayLike<number>;

export function linear(W: Vec, x: Vec, rows: number, cols: number, n = 1, b: Vec | null = null, residual: Vec | null = null): Float64Array {
  const y = new Float64Array(n * rows);
  for (let t = 0; t < n; t++) {
    for (let r = 0; r < rows; r++) {
      let acc = 0;
      const wo = r * cols;
      const xo = t * cols;
      for (let c = 0; c < cols; c++) acc += W[wo + c]! * x[xo + c]!;
      if (b) acc += b[r]!;
      if (residual) acc += residual[t * rows + r]!;
      y[t * rows + r] = acc;
    }
  }
  return y;
}
