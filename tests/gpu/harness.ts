// Shared set-up for GPU tests (they run in headless Chromium, see vitest.config.ts): one WebGPU device per
// test file, poisoned outputs, and a norm-relative comparison with a stated tolerance.
import { afterAll, afterEach, expect } from 'vitest';
import { acquireGpu, type Gpu } from '../../src/gpu/device';
import type { KernelSpec, Variant } from '../../src/gpu/kernel';
import { Recorder } from '../../src/gpu/recorder';
import type { GpuTensor } from '../../src/gpu/tensor';

let gpuPromise: Promise<Gpu> | null = null;
/** Validation/out-of-memory errors the device raised outside an error scope (a pipeline that failed to compile, …). */
const gpuErrors: string[] = [];

/** The test device, created once per test file. Uncaptured GPU errors fail the test that caused them. */
export function getGpu(): Promise<Gpu> {
  gpuPromise ??= acquireGpu().then((gpu) => {
    gpu.device.addEventListener('uncapturederror', (e) => gpuErrors.push((e as GPUUncapturedErrorEvent).error.message));
    return gpu;
  });
  return gpuPromise;
}

afterEach(() => {
  const errs = gpuErrors.splice(0);
  expect(errs, 'uncaptured WebGPU errors').toEqual([]);
});

afterAll(async () => {
  if (!gpuPromise) return;
  const gpu = await gpuPromise;
  gpuPromise = null;
  gpu.destroy();
});

/** Fill a tensor with NaN so a kernel that skips an element is caught. */
export function poison(gpu: Gpu, t: GpuTensor): void {
  gpu.pool.write(t, new Float32Array(t.bytes / 4).fill(Number.NaN));
}

/** max |a - e| / max |e|: the error relative to the output's scale. */
export function relErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    num = Number.isNaN(d) ? Infinity : Math.max(num, d);
    den = Math.max(den, Math.abs(expected[i]!));
  }
  return num / Math.max(den, 1e-30);
}

/** Asserts same length and norm-relative error <= tol (default 1e-5, the f32 kernels' contract). */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5, what = ''): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  const e = relErr(actual, expected);
  expect(e, `${what} relative error ${e.toExponential(2)} > ${tol}`).toBeLessThanOrEqual(tol);
}

/**
 * Run a linear-layer kernel with packed weights: x (n, cols), bias b (rows), y (n, rows) — y starts as y0 when
 * accumulating, poisoned otherwise. Releases every tensor (the packed weights included) and returns y.
 */
export async function runLinearKernel<S, V extends Variant>(
  gpu: Gpu,
  spec: KernelSpec<S, V>,
  shape: S,
  weights: Record<string, GpuTensor>,
  io: { n: number; rows: number; cols: number; x: Float32Array; b: Float32Array; y0: Float32Array; accumulate: boolean },
  uniforms: Record<string, number>,
): Promise<Float32Array> {
  const t = {
    ...weights,
    x: gpu.pool.fromArray('x', [io.n, io.cols], io.x, 'activations'),
    b: gpu.pool.fromArray('b', [io.rows], io.b, 'weights'),
    y: gpu.pool.alloc('y', [io.n, io.rows], 'f32', 'activations'),
  };
  if (io.accumulate) gpu.pool.write(t.y, io.y0);
  else poison(gpu, t.y);
  const rec = new Recorder(gpu);
  rec.run(spec, shape, t, uniforms);
  rec.submit();
  const got = await gpu.pool.readF32(t.y);
  for (const v of Object.values(t)) gpu.pool.release(v);
  return got;
}
