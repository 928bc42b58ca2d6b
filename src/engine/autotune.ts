// Autotune at load: time each GEMV variant on this model's real decode-step matrices (one submit holding every
// linear layer, the weight-reading floor) and keep the fastest. The choice is per adapter; the engine shows it.
// SwiftShader prefers barrier-free 4-rows-per-thread kernels; real GPUs prefer a workgroup per row.

import type { Gpu } from '../gpu/device';
import { Recorder } from '../gpu/recorder';
import { GEMV_VARIANTS } from '../kernels/gemv';
import type { GpuModel } from '../model/transformer';

/** Median wall time (ms) of `reps` submits of model.encodeLinearsOnly, after one warm-up. */
export async function timeLinearsOnly(gpu: Gpu, model: GpuModel, reps: number): Promise<number[]> {
  const logits = gpu.pool.alloc('autotune.logits', [model.cfg.vocabSize], 'f32', 'activations');
  const times: number[] = [];
  try {
    for (let i = 0; i <= reps; i++) {
      const rec = new Recorder(gpu);
      const t0 = performance.now();
      model.encodeLinearsOnly(rec, logits);
      rec.submit();
      await gpu.sync();
      if (i > 0) times.push(performance.now() - t0);
    }
  } finally {
    gpu.pool.release(logits);
  }
  return times;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Measure the GEMV variants that apply to this model and set gpu.traits.tuned. Returns the choices. */
export async function autotune(gpu: Gpu, model: GpuModel, reps = 3): Promise<Record<string, string>> {
  const aligned = model.linears().every((l) => l.cols % 4 === 0);
  const candidates = GEMV_VARIANTS.filter((v) => v !== 'rows4' || !aligned);
  let best = { name: candidates[0]!, ms: Infinity };
  for (const name of candidates) {
    gpu.traits.tuned['gemv'] = name;
    const ms = median(await timeLinearsOnly(gpu, model, reps));
    if (ms < best.ms) best = { name, ms };
  }
  gpu.traits.tuned['gemv'] = best.name;
  return { ...gpu.traits.tuned };
}

/** Compile every pipeline a generation needs (prefill and decode) before the user's first token is timed. */
export async function warmUp(gpu: Gpu, model: GpuModel): Promise<void> {
  const ids = gpu.pool.fromArray('warmup.ids', [2], new Uint32Array([0, 0]), 'activations');
  const logits = gpu.pool.alloc('warmup.logits', [model.cfg.vocabSize], 'f32', 'activations');
  try {
    for (const n of [2, 1]) {
      const rec = new Recorder(gpu);
      model.forward(rec, ids, n, 0, logits);
      rec.submit();
    }
    await gpu.sync();
  } finally {
    gpu.pool.release(ids);
    gpu.pool.release(logits);
    model.releasePrefillActs();
  }
}
