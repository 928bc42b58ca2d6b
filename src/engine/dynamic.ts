// Dynamic-compute generation loops on the GPU: early exit and speculative decoding. Both reuse the forward
// pass's public steps (embedStep / block / propagateKv / head, or forward(…, layers)) and never fork it.
// The rules are in src/techniques/early-exit.ts and src/techniques/speculative.ts (read their headers); this
// file only schedules GPU work around the CPU decisions those rules need.
//
// Early exit: one decision per checkpoint needs the confidence on the CPU, so each checkpoint is a sync:
//   encode blocks up to the checkpoint + head + confidence (+ sample at T > 0) → submit → read 8 bytes
//   (id, confidence). Token i writes them to slots[i % 2] and token i+1 embeds the id from there on the GPU.
//   The propagated K/V of skipped layers is encoded at the start of the next token's encoder (the residual
//   stream still holds the exit hidden state). Hiding latency: while the GPU runs a segment, the CPU encodes
//   the continuation (submitted only if the token goes on, else dropped unsubmitted); after a full-depth
//   segment, the next token's first segment is submitted before the id is read (it depends on nothing the
//   CPU decides), as generateLoop overlaps steps. After an early exit the next token cannot start before the
//   read (its propagation depends on the exit layer). Teacher forcing (forced ids) turns the overlap off.
// Speculative: one encoder and ONE sync per round: γ' draft steps with GPU-resident ids (each pick copied
//   into the verify ids), the batched target forward over [x0, d_1 … d_γ'] (allLogits), and copies of the ids,
//   target logits (and, when sampling, draft logits) into one pack tensor read back at once. Acceptance runs
//   on the CPU. Rollback is by position: rejected rows are overwritten by the next round; a separate draft
//   re-runs (catches up on) the at most 2 committed tokens its cache lacks at the start of the next round.
// Per-token latency in a speculative round is the round's time split evenly over the tokens it emitted.

import type { Gpu } from '../gpu/device';
import { Recorder } from '../gpu/recorder';
import type { GpuTensor } from '../gpu/tensor';
import { confidence, confidenceUniforms } from '../kernels/confidence';
import { argmax, sample, sampleUniforms } from '../kernels/sample';
import type { GpuModel } from '../model/transformer';
import { mulberry32 } from '../ref/random';
import { checkpoints, type EarlyExitRule, exitStats, shouldExit } from '../techniques/early-exit';
import {
  type DraftKind,
  draftU,
  gammaLimit,
  nextGamma,
  roundGamma,
  SpecStats,
  type SpeculativeSettings,
  verifyGreedy,
  verifySampled,
} from '../techniques/speculative';
import type { LoopOptions, LoopResult } from './generate';
import type { SamplingOptions } from './types';

export interface DynamicLoopResult extends LoopResult {
  /** Early exit: layers run for each generated token (nLayers for the first, which comes from the prefill). */
  exitLayers?: number[];
  /** Early exit: exitHistogram[c] = decoded tokens (after the first) that ran c layers. */
  exitHistogram?: number[];
  /** Early exit: mean layers per decoded token (after the first). */
  avgLayers?: number;
  /** Speculative: per generated token, a kept draft proposal or a token of the target's. */
  drafted?: DraftKind[];
  /** Speculative: accepted proposals ÷ proposals. */
  acceptanceRate?: number;
  /** Speculative: tokens emitted per verify pass (the prefill not counted). */
  tokensPerTargetForward?: number;
  /** Speculative: γ' of each round (varies when adaptive, and near the end or the context limit). */
  gammas?: number[];
  /** CPU waits on the GPU (readbacks), prefill included. */
  syncs: number;
  /** Leading KV rows that hold the model's K/V of the committed sequence after the run (draft: a separate draft). */
  validRows: { target: number; draft?: number };
}

export type EarlyExitOptions = EarlyExitRule & {
  /** Teacher forcing (quality measurement): step i's input is forced[i−1] instead of the picked id. */
  forced?: readonly number[];
  /** With `forced` only: (≥ tokens, vocab) f32; row i receives the logits token i was picked from (its exit
   *  layer's head), copied on the GPU after the exit decision (no extra sync), read back by the caller. */
  keepLogits?: GpuTensor;
};

/** A draft for speculative decoding: a separate model with the same vocabulary, or the target's first layers. */
export type Draft = GpuModel | { selfLayers: number };

/** Encode "pick the next id from logits (first `vocab` values) into out[0]". u is rounded as the GPU sees it. */
function encodePick(rec: Recorder, logits: GpuTensor, out: GpuTensor, vocab: number, s: SamplingOptions, u: number): void {
  if (s.temperature <= 0) rec.run(argmax, { n: vocab }, { x: logits, out }, { n: vocab });
  else rec.run(sample, { n: vocab }, { logits, out }, sampleUniforms(vocab, s, draftU(u)));
}

/** Token bookkeeping shared by both loops: timing, streaming, stop conditions. */
class Emitter {
  readonly ids: number[] = [];
  readonly tokenMs: number[] = [];
  ttftMs = 0;
  stoppedBy: LoopResult['stoppedBy'];
  dispatches = 0;
  syncs = 0;
  private last: number;
  private readonly profiles: Promise<Map<string, number>>[] = [];

  constructor(private readonly opt: LoopOptions, private readonly t0: number, readonly maxNew: number) {
    this.last = t0;
    this.stoppedBy = maxNew < opt.sampling.maxNewTokens ? 'context' : 'length';
  }

  /** Submit a recorder (counting its dispatches when `decode`) and keep its profile. */
  submit(rec: Recorder, decode: boolean): void {
    if (decode) this.dispatches += rec.dispatches;
    const p = rec.submit();
    if (p) this.profiles.push(p);
  }

  /** Tokens read back together now (their latency split evenly). False once generation must stop. */
  emit(tokens: readonly number[], info: { exitLayer?: number; accepted?: number } = {}): boolean {
    const now = performance.now();
    const dt = (now - this.last) / tokens.length;
    this.last = now;
    for (const [k, id] of tokens.entries()) {
      const index = this.ids.length;
      const drafted = info.accepted === undefined ? undefined : k < info.accepted ? ('accepted' as const) : ('corrected' as const);
      if (index === 0) this.ttftMs = now - this.t0;
      else this.tokenMs.push(dt);
      this.ids.push(id);
      this.opt.onToken?.({ id, index, tMs: now - this.t0, exitLayer: info.exitLayer, drafted });
      if (this.opt.stopIds?.includes(id)) return ((this.stoppedBy = 'eos'), false);
      if (this.opt.shouldStop?.()) return ((this.stoppedBy = 'abort'), false);
      if (this.ids.length >= this.maxNew) return false;
    }
    return true;
  }

  async result(extra: Omit<DynamicLoopResult, keyof LoopResult | 'syncs'>): Promise<DynamicLoopResult> {
    const kernelNs: Record<string, number> = {};
    for (const m of await Promise.all(this.profiles)) for (const [k, v] of m) kernelNs[k] = (kernelNs[k] ?? 0) + v;
    const decoded = Math.max(1, this.ids.length - 1);
    return {
      ids: this.ids,
      ttftMs: this.ttftMs,
      tokenMs: this.tokenMs,
      stoppedBy: this.stoppedBy,
      kernelNs,
      dispatchesPerToken: this.dispatches / decoded,
      syncs: this.syncs,
      ...extra,
    };
  }
}

export async function generateEarlyExit(gpu: Gpu, model: GpuModel, promptIds: number[], opt: LoopOptions & EarlyExitOptions): Promise<DynamicLoopResult> {
  const { sampling } = opt;
  const L = model.layers.length;
  const stops = [...checkpoints(L, opt), L];
  const V = model.cfg.vocabSize;
  const n = promptIds.length;
  const pool = gpu.pool;
  const rand = mulberry32(sampling.seed);
  const em = new Emitter(opt, performance.now(), Math.min(sampling.maxNewTokens, model.maxSeq - n));
  const exitLayers: number[] = [];
  const ids = pool.fromArray(`prompt_ids[${n}]`, [n], new Uint32Array(promptIds), 'activations');
  const logits = pool.alloc('logits', [V], 'f32', 'activations'); // (vocab)
  // token i writes (id, confidence as f32 bits) to slots[i % 2]; token i+1 embeds the id from there
  const slots = [0, 1].map((k) => pool.alloc(`exit_id_conf[${k}]`, [2], 'u32', 'activations'));
  const us: number[] = []; // each token's uniform, drawn in token order
  const ahead = !opt.forced; // teacher forcing writes the input id from the CPU: nothing may run ahead of it
  const keep = opt.keepLogits ?? null;
  if (keep && !opt.forced) throw new Error('early exit: keepLogits needs forced ids (ahead-of-time segments overwrite the logits)');
  /** Row i of keepLogits = the logits buffer now (token i's exit logits: nothing after its decision ran). */
  const keepRow = (rec: Recorder | null, i: number) => {
    if (!keep) return;
    const r = rec ?? new Recorder(gpu);
    r.copy(logits, keep, V * 4, 0, i * V * 4);
    if (!rec) r.submit();
  };
  const read = async (i: number): Promise<[number, number]> => {
    em.syncs++;
    const raw = await pool.read(slots[i % 2]!, 8);
    return [new Uint32Array(raw)[0]!, new Float32Array(raw)[1]!];
  };
  /** Token i's layers from … c−1 (from 0: first the previous exit's propagation and the embedding), head, test. */
  const segment = (i: number, from: number, c: number, prop: { from: number; pos: number } | null): Recorder => {
    const rec = new Recorder(gpu, opt.profile);
    const out = slots[i % 2]!;
    if (from === 0) {
      us[i] = rand();
      if (prop) for (let l = prop.from; l < L; l++) model.propagateKv(rec, l, 1, prop.pos);
      model.embedStep(rec, slots[(i + 1) % 2]!, 1, n + i - 1);
    }
    for (let l = from; l < c; l++) model.block(rec, l, 1, n + i - 1);
    model.head(rec, 1, logits);
    if (c < L) rec.run(confidence, { n: V }, { logits, out }, confidenceUniforms(V, opt.criterion));
    if (c === L || sampling.temperature > 0) encodePick(rec, logits, out, V, sampling, us[i]!);
    return rec;
  };
  try {
    if (em.maxNew <= 0) return await em.result({ exitLayers, validRows: { target: n } });
    const rec = new Recorder(gpu, opt.profile);
    model.forward(rec, ids, n, 0, logits);
    us[0] = rand();
    encodePick(rec, logits, slots[0]!, V, sampling, us[0]);
    keepRow(rec, 0);
    em.submit(rec, false);
    // token i's first segment goes to the GPU before token i−1's id is read whenever i−1 ran at full depth
    // (nothing about it depends on the CPU then), as generateLoop overlaps steps
    let aheadDone = ahead && em.maxNew > 1;
    if (aheadDone) em.submit(segment(1, 0, stops[0]!, null), true);
    let [id] = await read(0);
    model.releasePrefillActs();
    exitLayers.push(L);
    let more = em.emit([id], { exitLayer: L });
    let pending: { from: number; pos: number } | null = null; // skipped layers whose K/V still need propagating
    for (let i = 1; more; i++) {
      if (!aheadDone) {
        if (opt.forced) pool.write(slots[(i + 1) % 2]!, Uint32Array.of(opt.forced[i - 1]!));
        em.submit(segment(i, 0, stops[0]!, pending), true);
      }
      aheadDone = false;
      let exit = L;
      for (let s = 0; ; s++) {
        const c = stops[s]!;
        // while the GPU runs this segment: encode the continuation (submitted only if the token goes on), or at
        // full depth submit the next token's first segment
        let cont: Recorder | null = null;
        if (c < L) cont = segment(i, c, stops[s + 1]!, null);
        else if (ahead && i + 1 < em.maxNew) {
          em.submit(segment(i + 1, 0, stops[0]!, null), true);
          aheadDone = true;
        }
        const [got, conf] = await read(i);
        if (c === L || shouldExit(conf, opt)) {
          exit = c;
          id = got;
          break;
        }
        em.submit(cont!, true);
      }
      pending = exit < L ? { from: exit, pos: n + i - 1 } : null;
      keepRow(null, i);
      exitLayers.push(exit);
      more = em.emit([id], { exitLayer: exit });
    }
    if (pending) {
      // the last step's skipped layers too, so every row below validRows is written (a later continuation reads them)
      const last = new Recorder(gpu);
      for (let l = pending.from; l < L; l++) model.propagateKv(last, l, 1, pending.pos);
      last.submit();
    }
    await gpu.sync();
    const st = exitStats(exitLayers, L);
    return await em.result({ exitLayers, exitHistogram: st.histogram, avgLayers: st.avgLayers, validRows: { target: n + em.ids.length - 1 } });
  } finally {
    for (const t of [ids, logits, ...slots]) pool.release(t);
  }
}

export async function generateSpeculative(
  gpu: Gpu,
  target: GpuModel,
  draft: Draft,
  promptIds: number[],
  opt: LoopOptions & SpeculativeSettings,
): Promise<DynamicLoopResult> {
  const { sampling } = opt;
  const G = gammaLimit(opt);
  const V = target.cfg.vocabSize;
  const L = target.layers.length;
  const dm = 'selfLayers' in draft ? null : draft;
  const self = 'selfLayers' in draft ? draft.selfLayers : 0;
  if (!dm && !(Number.isInteger(self) && self >= 1 && self <= L)) throw new Error(`speculative: selfLayers ${self} must be an integer in 1..${L}`);
  if (dm && dm.cfg.vocabSize !== V) throw new Error(`speculative: draft vocab ${dm.cfg.vocabSize} != target vocab ${V}`);
  const greedy = !(sampling.temperature > 0);
  const n = promptIds.length;
  const pool = gpu.pool;
  const rand = mulberry32(sampling.seed);
  const maxSeq = Math.min(target.maxSeq, dm ? dm.maxSeq : Infinity);
  const em = new Emitter(opt, performance.now(), Math.min(sampling.maxNewTokens, maxSeq - n));
  const stats = new SpecStats();
  const kinds: DraftKind[] = [];
  const offT = (G + 1) * 4; // pack layout (bytes): ids (G+1) u32 | target logits (G+1, V) | draft logits (G, V)
  const offQ = offT + (G + 1) * V * 4;
  const promptT = pool.fromArray(`prompt_ids[${n}]`, [n], new Uint32Array(promptIds), 'activations');
  const tLogits = pool.alloc('verify_logits', [G + 1, V], 'f32', 'activations'); // (G+1, vocab)
  const dLogits = pool.alloc('draft_logits', [V], 'f32', 'activations'); // (vocab)
  const draftIn = pool.alloc('draft_in', [2], 'u32', 'activations'); // (<= 2) committed ids the draft runs first
  const dSlot = pool.alloc('draft_id', [1], 'u32', 'activations'); // the last drafted id
  const vIds = pool.alloc('verify_ids', [G + 1], 'u32', 'activations'); // [x0, d_1 … d_γ']
  const pack = pool.alloc('spec_readback', [offQ / 4 + G * V], 'f32', 'activations');
  let draftLen = 0; // positions a separate draft holds in its cache
  try {
    if (em.maxNew <= 0) return await em.result({ drafted: kinds, validRows: { target: n } });
    let rec = new Recorder(gpu, opt.profile);
    target.forward(rec, promptT, n, 0, tLogits);
    encodePick(rec, tLogits, vIds, V, sampling, rand());
    if (dm) dm.forward(rec, promptT, n, 0, dLogits);
    em.submit(rec, false);
    em.syncs++;
    const first = new Uint32Array(await pool.read(vIds, 4))[0]!;
    target.releasePrefillActs();
    dm?.releasePrefillActs();
    draftLen = dm ? n : 0;
    const seq = [...promptIds, first];
    kinds.push('corrected');
    let more = em.emit([first], { accepted: 0 });
    let gamma = opt.gamma;
    while (more) {
      const p = seq.length - 1;
      const g = roundGamma(gamma, em.maxNew - em.ids.length, p, maxSeq);
      rec = new Recorder(gpu, opt.profile);
      pool.write(vIds, Uint32Array.of(seq[p]!));
      if (g > 0) {
        const inp = dm ? seq.slice(draftLen, p + 1) : [seq[p]!];
        if (inp.length > 2) throw new Error(`speculative: draft is ${inp.length - 1} tokens behind (at most 1 expected)`);
        pool.write(draftIn, Uint32Array.from(inp));
        for (let j = 0; j < g; j++) {
          const u = greedy ? 0 : rand();
          if (!dm) target.forward(rec, j ? dSlot : draftIn, 1, p + j, dLogits, false, self);
          else if (j === 0) dm.forward(rec, draftIn, inp.length, draftLen, dLogits);
          else dm.forward(rec, dSlot, 1, p + j, dLogits);
          encodePick(rec, dLogits, dSlot, V, sampling, u);
          rec.copy(dSlot, vIds, 4, 0, 4 * (j + 1));
          if (!greedy) rec.copy(dLogits, pack, V * 4, 0, offQ + j * V * 4);
        }
      }
      target.forward(rec, vIds, g + 1, p, tLogits, true);
      rec.copy(vIds, pack, 4 * (g + 1), 0, 0);
      rec.copy(tLogits, pack, (g + 1) * V * 4, 0, offT);
      em.submit(rec, true);
      em.syncs++;
      const raw = await pool.read(pack, greedy ? offT + (g + 1) * V * 4 : offQ + g * V * 4);
      const drafted = Array.from(new Uint32Array(raw, 4, g));
      const t = new Float32Array(raw, offT, (g + 1) * V);
      const v = greedy ? verifyGreedy(drafted, t, V) : verifySampled(drafted, t, new Float32Array(raw, offQ, g * V), V, sampling, rand);
      if (dm && g > 0) draftLen = p + Math.min(v.accepted, g - 1) + 1;
      const tokens = [...drafted.slice(0, v.accepted), v.token];
      stats.record(g, v, tokens.length);
      const before = em.ids.length;
      more = em.emit(tokens, { accepted: v.accepted });
      for (let i = 0; i < em.ids.length - before; i++) {
        seq.push(tokens[i]!);
        kinds.push(i < v.accepted ? 'accepted' : 'corrected');
      }
      gamma = nextGamma(gamma, v.accepted, g, opt);
    }
    await gpu.sync();
    return await em.result({
      drafted: kinds,
      acceptanceRate: stats.acceptanceRate,
      tokensPerTargetForward: stats.tokensPerTargetForward,
      gammas: stats.gammas,
      validRows: { target: n + em.ids.length - 1, ...(dm ? { draft: draftLen } : {}) },
    });
  } finally {
    target.releasePrefillActs();
    dm?.releasePrefillActs();
    for (const t of [promptT, tLogits, dLogits, draftIn, dSlot, vIds, pack]) pool.release(t);
  }
}
