// Shared set-up of the opt-in measurement files (VITE_LAB_BENCH=1): the embedded target, its prompts, timing helpers.
import type { LoopResult } from '../../src/engine/generate';

export const RUN_BENCH = Boolean(import.meta.env.VITE_LAB_BENCH);
export const BASE = '/models/lab-target';
export const NEW = 48;
export const msPerToken = (r: LoopResult) => r.tokenMs.reduce((a, b) => a + b, 0) / r.tokenMs.length;
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** Whether a served file exists (the dev server answers a missing path with its HTML page and status 200). */
export async function present(url: string): Promise<boolean> {
  const r = await fetch(url, { method: 'HEAD' });
  return r.ok && !(r.headers.get('content-type') ?? '').includes('text/html');
}

/** Three prompts: the reference prompt and two 16-token windows of the held-out text. */
export async function prompts(): Promise<number[][]> {
  const ref = (await (await fetch(`${BASE}/reference.json`)).json()) as { prompt_ids: number[] };
  const held = new Uint16Array(await (await fetch('/models/heldout.ids.bin')).arrayBuffer());
  return [ref.prompt_ids, Array.from(held.subarray(1000, 1016)), Array.from(held.subarray(20000, 20016))];
}
