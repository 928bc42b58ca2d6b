// add / swiglu / gelu vs src/ref/activation.ts. Tolerance: norm-relative 1e-5 (f32 exp; add is one rounding).
// gelu is in place, so its output cannot be poisoned: an element the kernel skips keeps x ≠ gelu(x) and fails.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/device';
import { Recorder } from '../../src/gpu/recorder';
import { add, gelu, swiglu } from '../../src/kernels/elementwise';
import * as ref from '../../src/ref/activation';
import { mulberry32, randint, randn } from '../../src/ref/random';
import { expectClose, getGpu, poison } from './harness';

describe('elementwise kernels vs src/ref/activation.ts', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await getGpu();
  });
  afterAll(() => gpu.pool.trim());

  const u = mulberry32(3);
  const sizes = [1, 3, 4, 5, 63, 64, 65, 257, 1001, 4096, 4100, 12345];
  for (let i = 0; i < 3; i++) sizes.push(randint(u, 1, 20000));
  const entry = (k: string, n: number) => (n % 4 === 0 ? `${k}_vec4` : k);

  async function runAdd(n: number): Promise<void> {
    const a = randn(n, n + 1);
    const y0 = randn(n, n + 2);
    const ta = gpu.pool.fromArray('a', [n], a, 'activations');
    const ty = gpu.pool.fromArray('y', [n], y0, 'activations');
    const rec = new Recorder(gpu);
    rec.run(add, { n }, { a: ta, y: ty }, { n });
    rec.submit();
    expectClose(await gpu.pool.readF32(ty), ref.add(y0, a), 1e-5, `add n=${n}`);
    for (const t of [ta, ty]) gpu.pool.release(t);
  }

  async function runSwiglu(gate: Float32Array, up: Float32Array): Promise<void> {
    const n = gate.length;
    const tg = gpu.pool.fromArray('gate', [n], gate, 'activations');
    const tu = gpu.pool.fromArray('up', [n], up, 'activations');
    const to = gpu.pool.alloc('out', [n], 'f32', 'activations');
    poison(gpu, to);
    const rec = new Recorder(gpu);
    rec.run(swiglu, { n }, { gate: tg, up: tu, out: to }, { n });
    rec.submit();
    expectClose(await gpu.pool.readF32(to), ref.swiglu(gate, up), 1e-5, `swiglu n=${n}`);
    for (const t of [tg, tu, to]) gpu.pool.release(t);
  }

  async function runGelu(x: Float32Array): Promise<Float32Array> {
    const n = x.length;
    const tx = gpu.pool.fromArray('x', [n], x, 'activations');
    const rec = new Recorder(gpu);
    rec.run(gelu, { n }, { x: tx }, { n });
    rec.submit();
    const got = await gpu.pool.readF32(tx);
    expectClose(got, ref.gelu(x), 1e-5, `gelu n=${n}`);
    gpu.pool.release(tx);
    return got;
  }

  for (const n of sizes) {
    it(`${entry('add', n)} n=${n}`, () => runAdd(n));
    it(`${entry('swiglu', n)} n=${n}`, () => runSwiglu(randn(n, 3 * n, 2), randn(n, 3 * n + 1)));
    it(`${entry('gelu', n)} n=${n}`, () => runGelu(randn(n, 5 * n, 2)));
  }

  // Large |x|: e^(−z) overflows to inf; the kernels must give 0 or x, never NaN (tanh(x) = inf/inf in some drivers).
  const extremes = Float32Array.from([-1000, -100, -50, -20, -5, 5, 20, 50, 100, 1000, -0.001, 0.001]);
  it('gelu_vec4 and gelu at extreme inputs: no NaN', async () => {
    for (const x of [extremes, extremes.subarray(0, 11)]) {
      const got = await runGelu(x);
      expect(got.every((v) => Number.isFinite(v))).toBe(true);
    }
  });
  it('swiglu_vec4 and swiglu at extreme gates: no NaN', async () => {
    await runSwiglu(extremes, randn(12, 99));
    await runSwiglu(extremes.slice(0, 11), randn(11, 98));
  });

  it('add folds more than 65535 workgroups into (x, y): n=4200001 (scalar)', async () => {
    const [x, y] = add.dispatch({ n: 4200001 }, { entry: 'add' });
    expect(y! > 1 && x <= 65535).toBe(true);
    await runAdd(4200001);
  });
});
