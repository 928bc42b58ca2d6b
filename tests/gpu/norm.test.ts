// rmsnorm / layernorm, every variant, vs src/ref/norm.ts. Tolerance: norm-relative 1e-5 (f32 sums over <= 4099
// terms and inverseSqrt; layernorm rows carry a mean offset of up to ±20 to exercise the two-pass variance).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/device';
import { Recorder } from '../../src/gpu/recorder';
import { layernorm, NORM_VARIANTS, normVariantName, type NormVariantName, rmsnorm } from '../../src/kernels/norm';
import * as ref from '../../src/ref/norm';
import { mulberry32, randint, randn } from '../../src/ref/random';
import { expectClose, getGpu, poison } from './harness';

describe('rmsnorm / layernorm vs src/ref/norm.ts', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await getGpu();
  });
  afterAll(() => gpu.pool.trim());

  /** `wg` overrides the workgroup size of the wg variant (the fold test uses a small one: SwiftShader is slow). */
  async function check(kind: 'rms' | 'ln', force: NormVariantName, n: number, dim: number, eps: number, wg?: number): Promise<void> {
    const seed = n * 7919 + dim;
    const x = randn(n * dim, seed, 2);
    if (kind === 'ln') for (let t = 0; t < n; t++) for (let c = 0; c < dim; c++) x[t * dim + c]! += ((t % 5) - 2) * 10;
    const w = randn(dim, seed + 1);
    const b = randn(dim, seed + 2);
    const tx = gpu.pool.fromArray('x', [n, dim], x, 'activations');
    const tw = gpu.pool.fromArray('w', [dim], w, 'weights');
    const tb = gpu.pool.fromArray('b', [dim], b, 'weights');
    const ty = gpu.pool.alloc('y', [n, dim], 'f32', 'activations');
    poison(gpu, ty);
    const rec = new Recorder(gpu);
    const shape = { n, dim, force };
    const spec = kind === 'rms' ? rmsnorm : layernorm;
    const v = spec.variant(shape, gpu.traits);
    if (wg) v.constants = { ...v.constants, WG: wg };
    if (kind === 'rms') rec.run(rmsnorm, shape, { x: tx, w: tw, y: ty }, { n, dim, eps }, v);
    else rec.run(layernorm, shape, { x: tx, w: tw, b: tb, y: ty }, { n, dim, eps }, v);
    rec.submit();
    const got = await gpu.pool.readF32(ty);
    const want = kind === 'rms' ? ref.rmsnorm(x, w, n, dim, eps) : ref.layernorm(x, w, b, n, dim, eps);
    expectClose(got, want, 1e-5, `${kind} ${force} n=${n} dim=${dim}`);
    for (const t of [tx, tw, tb, ty]) gpu.pool.release(t);
  }

  const u = mulberry32(5);
  const shapes: [number, number][] = [[1, 1], [1, 7], [3, 5], [5, 64], [2, 67], [4, 300], [1, 1024], [17, 33], [65, 12], [70, 1], [2, 4099]];
  for (let i = 0; i < 3; i++) shapes.push([randint(u, 1, 80), randint(u, 1, 500)]);

  for (const force of NORM_VARIANTS) {
    for (const [n, dim] of shapes) {
      const entry = force === 'wg' ? 'wg' : dim % 4 === 0 ? 'row_vec4' : 'row';
      it(`rms_${entry} n=${n} dim=${dim}`, () => check('rms', force, n, dim, 1e-6));
      it(`ln_${entry} n=${n} dim=${dim}`, () => check('ln', force, n, dim, 1e-5));
    }
  }

  it('eps matters: a tiny row is divided by sqrt(mean(x²) + eps)', async () => {
    for (const force of NORM_VARIANTS) {
      const x = Float32Array.from([1e-3, -2e-3, 1.5e-3, 5e-4, -1e-3]);
      const w = Float32Array.from([1, 2, 3, 4, 5]);
      const tx = gpu.pool.fromArray('x', [1, 5], x, 'activations');
      const tw = gpu.pool.fromArray('w', [5], w, 'weights');
      const ty = gpu.pool.alloc('y', [1, 5], 'f32', 'activations');
      poison(gpu, ty);
      const rec = new Recorder(gpu);
      rec.run(rmsnorm, { n: 1, dim: 5, force }, { x: tx, w: tw, y: ty }, { n: 1, dim: 5, eps: 1e-5 });
      rec.submit();
      expectClose(await gpu.pool.readF32(ty), ref.rmsnorm(x, w, 1, 5, 1e-5), 1e-5, `rms eps ${force}`);
      for (const t of [tx, tw, ty]) gpu.pool.release(t);
    }
  });

  // Workgroups of 4 threads here: 65537 workgroups of 256 threads with barriers take ~45 s on SwiftShader.
  it('wg folds more than 65535 rows into (x, y): n=65537 dim=5, WG=4', async () => {
    const v = rmsnorm.variant({ n: 65537, dim: 5, force: 'wg' }, gpu.traits);
    const [x, y] = rmsnorm.dispatch({ n: 65537, dim: 5 }, v);
    expect(y! > 1 && x <= 65535).toBe(true);
    await check('ln', 'wg', 65537, 5, 1e-5, 4);
  });

  it('picks row on a fallback adapter, wg on a real GPU, and honours the autotuned choice', () => {
    const traits = { isFallback: true, hasSubgroups: false, hasF16: false, maxWorkgroupSize: 256, tuned: {} };
    expect(normVariantName(traits)).toBe('row');
    expect(normVariantName({ ...traits, isFallback: false })).toBe('wg');
    expect(normVariantName({ ...traits, tuned: { norm: 'wg' } })).toBe('wg');
    expect(rmsnorm.variant({ n: 1, dim: 8 }, traits).entry).toBe('rms_row_vec4');
    expect(layernorm.variant({ n: 1, dim: 9 }, traits).entry).toBe('ln_row');
  });
});
