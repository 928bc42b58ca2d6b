import { it } from 'vitest';
import src from '../../shaders/sample.wgsl?raw';
import { sample, sampleUniforms } from '../../src/kernels/sample';
import { defineKernel } from '../../src/gpu/kernel';
import { Recorder } from '../../src/gpu/recorder';
import { getGpu } from './harness';
it('dbg', async () => {
  const gpu = await getGpu();
  const dbgSrc = src.replace('  // draw: chunk sums', '  if (lid == 0u) { out[0] = tau; out[1] = tauK; out[2] = bitcast<u32>(m); out[3] = kmax; }\n  return;\n  // draw: chunk sums');
  const k = defineKernel({ ...sample, name: 'sample_dbg', source: dbgSrc });
  const w = [5, 1, 9, 3, 7, 2, 8, 4, 6, 10, 0.5];
  const logits = Float32Array.from(w, Math.log);
  const t = gpu.pool.fromArray('l', [w.length], logits, 'activations');
  const o = gpu.pool.alloc('o', [4], 'u32', 'activations');
  for (const s of [{ temperature: 1, topK: 6, topP: 1 }, { temperature: 1, topK: 0, topP: 0.7 }, { temperature: 1, topK: 6, topP: 0.7 }]) {
    const rec = new Recorder(gpu);
    rec.run(k, { n: w.length }, { logits: t, out: o }, sampleUniforms(w.length, s, 0.5));
    rec.submit();
    const r = await gpu.pool.readU32(o);
    const f = new Float32Array(1); const u = new Uint32Array(f.buffer);
    const dec = (key: number) => { u[0] = key & 0x80000000 ? key & 0x7fffffff : ~key >>> 0; return f[0]; };
    console.log('DBG', JSON.stringify(s), [...r].map((x) => x.toString(16)).join(','), 'tau', dec(r[0]!), Math.exp(dec(r[0]!)), 'tauK', Math.exp(dec(r[1]!)));
  }
});
