// The roofline meter. Decode is memory-bound: bytes one step reads (weights in their stored format + KV cache
// up to the position + activations) ÷ step time = achieved bandwidth, shown against the adapter's measured
// copy bandwidth (a WGSL copy kernel: bytes read + written ÷ time). When a step's time is mostly the fixed
// cost of its dispatches, the run is dispatch-bound, and the meter says so instead of blaming bandwidth.

import type { Gpu } from '../gpu/device';
import { Recorder } from '../gpu/recorder';
import { copyVec4 } from '../kernels/copy';

export interface Calibration {
  /** Copy-kernel bandwidth, GB/s (bytes read + written ÷ time), the best of reps: a ceiling, so a busy moment does not lower it. */
  copyGbps: number;
  /** Fixed cost of one dispatch in a submit, ms (slope of no-op dispatch count vs time). */
  dispatchMs: number;
  bytes: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timeSubmit(gpu: Gpu, encode: (rec: Recorder) => void, reps: number, pick: (xs: number[]) => number = median): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i <= reps; i++) {
    const rec = new Recorder(gpu);
    const t0 = performance.now();
    encode(rec);
    rec.submit();
    await gpu.sync();
    if (i > 0) times.push(performance.now() - t0);
  }
  return pick(times);
}

/** Measure copy bandwidth on `mb` MiB (capped by the binding limit) and the per-dispatch cost. */
export async function calibrate(gpu: Gpu, mb = 32, reps = 9): Promise<Calibration> {
  const maxBytes = Math.min(gpu.device.limits.maxStorageBufferBindingSize, mb << 20);
  const n = Math.floor(maxBytes / 16);
  const src = gpu.pool.alloc('roofline.src', [n * 4], 'f32', 'staging');
  const dst = gpu.pool.alloc('roofline.dst', [n * 4], 'f32', 'staging');
  try {
    const ms = await timeSubmit(gpu, (rec) => rec.run(copyVec4, { n }, { src, dst }, { n }), reps, (xs) => Math.min(...xs));
    const one = await timeSubmit(gpu, (rec) => rec.run(copyVec4, { n: 1, noop: true }, { src, dst }, { n: 1 }), reps);
    const many = await timeSubmit(gpu, (rec) => { for (let i = 0; i < 101; i++) rec.run(copyVec4, { n: 1, noop: true }, { src, dst }, { n: 1 }); }, reps);
    return { copyGbps: (2 * n * 16) / (ms * 1e6), dispatchMs: Math.max(0, (many - one) / 100), bytes: 2 * n * 16 };
  } finally {
    gpu.pool.release(src);
    gpu.pool.release(dst);
    gpu.pool.trim();
  }
}

export interface RooflineFigures {
  bytes_per_token: number;
  achieved_gbps: number;
  roofline_fraction: number;
  copy_gbps: number;
  /** 'bandwidth' when ≥ half the copy bandwidth is reached; 'dispatch' when dispatch overhead is ≥ half the step. */
  bound: 'bandwidth' | 'dispatch' | 'latency';
}

export function roofline(bytesPerToken: number, msPerToken: number, dispatchesPerToken: number, cal: Calibration): RooflineFigures {
  const achieved = msPerToken > 0 ? bytesPerToken / (msPerToken * 1e6) : 0;
  const fraction = cal.copyGbps > 0 ? achieved / cal.copyGbps : 0;
  const dispatchShare = msPerToken > 0 ? (dispatchesPerToken * cal.dispatchMs) / msPerToken : 0;
  const bound = fraction >= 0.5 ? 'bandwidth' : dispatchShare >= 0.5 ? 'dispatch' : 'latency';
  return { bytes_per_token: bytesPerToken, achieved_gbps: achieved, roofline_fraction: fraction, copy_gbps: cal.copyGbps, bound };
}
