// The generation loop on the GPU: prefill the prompt in one pass, then one command encoder per token.
// The sampled id stays on the GPU and feeds the next step's embedding directly; the CPU only reads ids back.
// Step t+1 is submitted before step t's id is read, so readback latency overlaps GPU work (two id slots).

import type { Gpu } from '../gpu/device';
import { Recorder } from '../gpu/recorder';
import type { GpuTensor } from '../gpu/tensor';
import { argmax, sample } from '../kernels/sample';
import type { GpuModel } from '../model/transformer';
import { mulberry32 } from '../ref/random';
import type { SamplingOptions } from './types';

export interface StepInfo {
  id: number;
  index: number;
  tMs: number;
  /** Early exit: layers this token ran (1..nLayers). */
  exitLayer?: number;
  /** Speculative decoding: an accepted draft token or the target's own. */
  drafted?: 'accepted' | 'corrected';
}

export interface LoopOptions {
  sampling: SamplingOptions;
  stopIds?: readonly number[];
  shouldStop?: () => boolean;
  onToken?: (s: StepInfo) => void;
  profile?: boolean;
}

export interface LoopResult {
  ids: number[];
  ttftMs: number;
  tokenMs: number[];
  stoppedBy: 'length' | 'eos' | 'abort' | 'context';
  kernelNs: Record<string, number>;
  /** Dispatches encoded for one decode step. */
  dispatchesPerToken: number;
  /** Decode steps whose kernels were timed (the profiler skips a step while the previous one is being read). */
  profiledSteps?: number;
}

/** Encode "pick the next id from logits" (argmax at temperature 0, else the seeded sampler). */
function encodePick(rec: Recorder, logits: GpuTensor, out: GpuTensor, vocab: number, s: SamplingOptions, u: number): void {
  if (s.temperature <= 0) rec.run(argmax, { n: vocab }, { x: logits, out }, { n: vocab });
  else
    rec.run(sample, { n: vocab }, { logits, out }, {
      n: vocab,
      temperature: s.temperature,
      topK: s.topK,
      topP: s.topP,
      u,
    });
}

export async function generateLoop(gpu: Gpu, model: GpuModel, promptIds: number[], opt: LoopOptions): Promise<LoopResult> {
  const { sampling } = opt;
  const vocab = model.cfg.vocabSize;
  const n = promptIds.length;
  const pool = gpu.pool;
  const rand = mulberry32(sampling.seed);
  const t0 = performance.now();
  const ids = pool.fromArray(`prompt_ids[${n}]`, [n], new Uint32Array(promptIds), 'activations');
  const logits = pool.alloc('logits', [vocab], 'f32', 'activations');
  const slots = [pool.alloc('next_id[0]', [1], 'u32', 'activations'), pool.alloc('next_id[1]', [1], 'u32', 'activations')];
  const out: number[] = [];
  const tokenMs: number[] = [];
  const kernelNs: Record<string, number> = {};
  const profiles: Promise<Map<string, number>>[] = [];
  let stoppedBy: LoopResult['stoppedBy'] = 'length';
  let ttftMs = 0;
  let dispatchesPerToken = 0;
  const maxNew = Math.min(sampling.maxNewTokens, model.maxSeq - n);
  if (maxNew < sampling.maxNewTokens) stoppedBy = 'context';
  try {
    if (maxNew <= 0) return { ids: out, ttftMs: 0, tokenMs, stoppedBy: 'context', kernelNs, dispatchesPerToken: 0 };
    // prefill + first pick
    let rec = new Recorder(gpu);
    model.forward(rec, ids, n, 0, logits);
    encodePick(rec, logits, slots[0]!, vocab, sampling, rand());
    rec.submit();
    model.releasePrefillActs();
    let last = performance.now();
    for (let i = 0; i < maxNew; i++) {
      // submit step i+1 (reads slot i%2, writes slot (i+1)%2) before reading step i's id
      const more = i + 1 < maxNew;
      if (more) {
        rec = new Recorder(gpu, opt.profile);
        model.forward(rec, slots[i % 2]!, 1, n + i, logits);
        encodePick(rec, logits, slots[(i + 1) % 2]!, vocab, sampling, rand());
        dispatchesPerToken = rec.dispatches;
        const prof = rec.submit();
        if (prof) profiles.push(prof);
      }
      const id = (await pool.readU32(slots[i % 2]!))[0]!;
      const now = performance.now();
      if (i === 0) ttftMs = now - t0;
      else tokenMs.push(now - last);
      last = now;
      out.push(id);
      opt.onToken?.({ id, index: i, tMs: now - t0 });
      if (opt.stopIds?.includes(id)) {
        stoppedBy = 'eos';
        break;
      }
      if (opt.shouldStop?.()) {
        stoppedBy = 'abort';
        break;
      }
    }
    // The last id needs no next-step submit, so its interval is shorter than a step (pipeline drain): drop it.
    if (tokenMs.length > 2) tokenMs.pop();
    await gpu.sync(); // the speculative next step may still run
    for (const m of await Promise.all(profiles)) for (const [k, v] of m) kernelNs[k] = (kernelNs[k] ?? 0) + v;
    return { ids: out, ttftMs, tokenMs, stoppedBy, kernelNs, dispatchesPerToken, profiledSteps: profiles.length };
  } finally {
    for (const t of [ids, logits, ...slots]) pool.release(t);
  }
}

/** Percentile (0..100) of a list, nearest-rank on the sorted copy; NaN when empty. */
export function percentile(xs: readonly number[], p: number): number {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
