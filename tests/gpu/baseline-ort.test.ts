// The ONNX Runtime Web baseline decodes the embedded target model (models/lab-target/onnx/model.onnx, the same
// weights as model.safetensors) greedily to exactly the lab's token ids, on ORT's WebGPU and wasm EPs.
// Also prints (no assertion) decode ms/token of the lab vs ORT-webgpu vs ORT-wasm on this adapter.
// Skipped only when the ONNX export does not exist (tools/train writes it after training).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrtBaseline, OrtBaselineError, type BaselineRun, type OrtEp } from '../../src/bench/baselines/ort';
import { LabEngine } from '../../src/engine/engine';
import type { GenerateResult } from '../../src/engine/types';

const BASE = '/models/lab-target';
const ONNX = `${BASE}/onnx/model.onnx`;
/** "ROMEO:\nBut soft, what light" in the lab-target tokenizer (models/lab-target/reference.json). */
const PROMPT = [813, 58, 10, 449, 365, 102, 116, 44, 435, 357, 350];
const NEW_TOKENS = 16;

/** The dev server answers a missing file with 404 (or, for SPA fallback, index.html): both mean absent. */
async function exists(url: string): Promise<boolean> {
  const res = await fetch(url, { method: 'HEAD' });
  return res.ok && !(res.headers.get('content-type') ?? '').includes('text/html');
}

const hasOnnx = await exists(ONNX);

const fmt = (x: number) => x.toFixed(2);
const rows: string[] = [];

const title = hasOnnx ? 'ORT-web baseline agrees with the lab' : `ORT-web baseline (skipped: ${ONNX} does not exist)`;

describe.skipIf(!hasOnnx)(title, () => {
  let config: Record<string, unknown>;
  let lab: GenerateResult;

  beforeAll(async () => {
    config = (await (await fetch(`${BASE}/config.json`)).json()) as Record<string, unknown>;
    const engine = new LabEngine();
    try {
      await engine.load({ kind: 'url', baseUrl: BASE });
      const req = { prompt: PROMPT, sampling: { temperature: 0, topK: 0, topP: 1, seed: 1, maxNewTokens: NEW_TOKENS } };
      lab = await engine.generate(req, () => {});
      const probe = (await engine.stats()).adapter;
      const name = [probe?.vendor, probe?.architecture, probe?.device, probe?.description].filter(Boolean).join(' ');
      rows.push(`adapter: ${name || '?'} (fallback=${probe?.isFallback ?? '?'})`);
      const m = lab.metrics;
      rows.push(`lab         decode p50 ${fmt(m.ms_per_token_p50)} ms/token (p95 ${fmt(m.ms_per_token_p95)}, ${fmt(m.decode_tok_s)} tok/s), ttft ${fmt(m.ttft_ms)} ms`);
    } finally {
      await engine.reset();
    }
  });

  afterAll(() => {
    if (rows.length) console.log(`decode speed, ${PROMPT.length}-token prompt, ${NEW_TOKENS} new tokens:\n${rows.join('\n')}`);
  });

  for (const ep of ['webgpu', 'wasm'] as const satisfies readonly OrtEp[]) {
    it(`ORT ${ep}: same ${NEW_TOKENS} greedy tokens as the lab`, async () => {
      expect(lab.outputIds.length, 'the lab stopped early (EOS): pick another prompt').toBe(NEW_TOKENS);
      expect(new Set(lab.outputIds).size, 'lab output is not degenerate').toBeGreaterThan(3);
      const ort = await OrtBaseline.create(ONNX, config, ep);
      let run: BaselineRun;
      const streamed: number[] = [];
      try {
        run = await ort.generate(PROMPT, NEW_TOKENS, { onToken: (id) => streamed.push(id) });
      } finally {
        await ort.release();
      }
      expect(run.output_ids).toEqual(lab.outputIds);
      expect(streamed).toEqual(run.output_ids);
      expect(run.engine).toBe(`ort-${ep}`);
      expect(run.token_ms.length).toBe(NEW_TOKENS - 1);
      rows.push(
        `ort-${ep.padEnd(7)} decode p50 ${fmt(run.ms_per_token_p50)} ms/token (p95 ${fmt(run.ms_per_token_p95)}, ${fmt(run.decode_tok_s)} tok/s), ` +
          `ttft ${fmt(run.ttft_ms)} ms, load ${fmt(run.load_ms)} ms`,
      );
    });
  }

  it('a model lacking an input the config implies fails with a typed error naming it', async () => {
    const layers = (config.num_hidden_layers as number) + 1;
    const err = await OrtBaseline.create(ONNX, { ...config, num_hidden_layers: layers }, 'wasm', { warmUp: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OrtBaselineError);
    expect((err as Error).message).toContain(`no input 'past_key_values.${layers - 1}.key'`);
  });
});
