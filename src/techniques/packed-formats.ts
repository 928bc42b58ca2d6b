// The packed linear formats' kernels, registered with the forward pass (src/model/linear.ts registerFormat): how a
// layer stored as q8 / q4 / q4z (src/techniques/quantize.ts layout) or f16 (src/ref/f16.ts layout) runs — GEMV for
// one token, matmul for many. quant-formats.ts imports this module for its side effect; the forward pass only ever
// calls applyLinear().

import type { Recorder } from '../gpu/recorder';
import type { GpuTensor } from '../gpu/tensor';
import { f16Kernels } from '../kernels/gemv-f16';
import { gemvQuant } from '../kernels/gemv-quant';
import { matmulQuant } from '../kernels/matmul-quant';
import { type LinearWeight, registerFormat } from '../model/linear';

for (const fmt of ['q8', 'q4', 'q4z'] as const) {
  registerFormat({
    name: fmt,
    apply(rec: Recorder, l: LinearWeight, x: GpuTensor, y: GpuTensor, n: number, accumulate: boolean) {
      const Wq = l.tensors['Wq']!;
      const scales = l.tensors['scales']!;
      const tensors = { Wq, scales, zeros: l.tensors['zeros'] ?? scales, x, b: l.bias ?? Wq, y };
      const s = { fmt, groupSize: Number(l.meta?.['groupSize']), rows: l.rows, cols: l.cols, bias: l.bias !== null, accumulate };
      if (n === 1) rec.run(gemvQuant, s, tensors, { rows: l.rows, cols: l.cols });
      else rec.run(matmulQuant, { ...s, n }, tensors, { n, rows: l.rows, cols: l.cols });
    },
  });
}

/** f16 weights: W (rows, ceil(cols / 2)) u32, two binary16 per word; meta.storage says which kernels read them. */
registerFormat({
  name: 'f16',
  apply(rec: Recorder, l: LinearWeight, x: GpuTensor, y: GpuTensor, n: number, accumulate: boolean) {
    const W = l.tensors['W']!;
    const k = f16Kernels(l.meta?.['storage'] === 'native' ? 'native' : 'unpack');
    const tensors = { W, x, b: l.bias ?? W, y };
    const s = { rows: l.rows, cols: l.cols, bias: l.bias !== null, accumulate };
    if (n === 1) rec.run(k.gemv, s, tensors, { rows: l.rows, cols: l.cols });
    else rec.run(k.matmul, { ...s, n }, tensors, { n, rows: l.rows, cols: l.cols });
  },
});
