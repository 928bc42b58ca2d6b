// CPU reference (float64) for shaders/attention.wgsl: causal grouped-query attention over a KV cache.
//   q: (n, nHeads·headDim) for positions pos0 .. pos0+n−1; k, v: (>= pos0+n, nKvHeads·headDim), cache rows
//   0 .. pos0+n−1; out: (n, nHeads·headDim). Query head h reads kv head h / (nHeads / nKvHeads).
//   Token t attends rows 0 .. pos0+t: s_p = q·k_p / sqrt(headDim), w = softmax(s) (max-subtracted),
//   out = sum_p w_p v_p.

import type { Vec } from './linear';

export function attention(q: Vec, k: Vec, v: Vec, n: number, pos0: number, nHeads: number, nKvHeads: number, headDim: number): Float64Array {
  if (nHeads % nKvHeads !== 0) throw new Error(`attention: nHeads ${nHeads} not a multiple of nKvHeads ${nKvHeads}`);
  const group = nHeads / nKvHeads;
  const qDim = nHeads * headDim;
  const kvDim = nKvHeads * headDim;
  const scale = 1 / Math.sqrt(headDim);
  const out = new Float64Array(n * qDim);
  const s = new Float64Array(pos0 + n);
  for (let t = 0; t < n; t++) {
    const len = pos0 + t + 1;
    for (let h = 0; h < nHeads; h++) {
      const qo = t * qDim + h * headDim;
      const go = Math.floor(h / group) * headDim;
      let m = -Infinity;
      for (let p = 0; p < len; p++) {
        let acc = 0;
        for (let d = 0; d < headDim; d++) acc += q[qo + d]! * k[p * kvDim + go + d]!;
        s[p] = acc * scale;
        m = Math.max(m, s[p]!);
      }
      let sum = 0;
      for (let p = 0; p < len; p++) {
        s[p] = Math.exp(s[p]! - m);
        sum += s[p]!;
      }
      for (let p = 0; p < len; p++) {
        const w = s[p]! / sum;
        for (let d = 0; d < headDim; d++) out[qo + d] += w * v[p * kvDim + go + d]!;
      }
    }
  }
  return out;
}
