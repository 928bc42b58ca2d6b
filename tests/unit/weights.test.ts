// loadWeights (names, shapes, ties, biases, missing tensors, shape mismatches), countParameters, and loadModel
// over both sources ('files' with File objects, 'url' with a stubbed fetch).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../src/model/config';
import { MissingTensorError, ModelLoadError, ShapeMismatchError, TokenizerError } from '../../src/model/errors';
import { bytesSource, readSafetensors, readTensorF32 } from '../../src/model/safetensors';
import { loadModel } from '../../src/model/source';
import { countParameters, loadWeights } from '../../src/model/weights';
import { makeLlamaFixture, type LlamaFixtureOptions } from '../fixtures/llama';
import { writeSafetensors, type FixtureTensor } from '../fixtures/safetensors-writer';

const modelsDir = new URL('../../models/', import.meta.url);

async function load(opts: LlamaFixtureOptions, edit?: (t: Record<string, FixtureTensor>) => void) {
  const f = makeLlamaFixture(opts);
  const cfg = parseConfig(f.configJson);
  let bytes = f.safetensors;
  if (edit) {
    // re-read every tensor, edit the set, write it back
    const src0 = bytesSource('model.safetensors', bytes);
    const st0 = await readSafetensors(src0);
    const t: Record<string, FixtureTensor> = {};
    for (const [name, info] of st0.tensors) t[name] = { dtype: 'F32', shape: info.shape, data: await readTensorF32(src0, info) };
    edit(t);
    bytes = writeSafetensors(t);
  }
  const src = bytesSource('model.safetensors', bytes);
  const st = await readSafetensors(src);
  return { cfg, st, src, weights: () => loadWeights(cfg, st, src) };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('did not throw');
}

describe('loadWeights', () => {
  it('loads every tensor with the config-implied sizes (GQA, untied)', async () => {
    const { cfg, st, weights } = await load({ seed: 1 });
    const w = await weights();
    const H = cfg.hiddenSize;
    expect(w.embed.length).toBe(cfg.vocabSize * H);
    expect(w.layers.length).toBe(cfg.nLayers);
    const l = w.layers[1]!;
    expect([l.q.length, l.k.length, l.v.length, l.o.length]).toEqual([72 * 72, 36 * 72, 36 * 72, 72 * 72]);
    expect([l.gate!.length, l.up.length, l.down.length, l.inputNorm.length, l.postNorm.length]).toEqual([98 * 72, 98 * 72, 72 * 98, 72, 72]);
    expect([l.qBias, l.kBias, l.vBias]).toEqual([null, null, null]);
    expect(w.lmHead).not.toBe(w.embed);
    // the arrays hold the file's values (spot-check against a direct read)
    const src = bytesSource('model.safetensors', makeLlamaFixture({ seed: 1 }).safetensors);
    expect(l.down).toEqual(await readTensorF32(src, st.tensors.get('model.layers.1.mlp.down_proj.weight')!));
    // parameter count = sum of the distinct arrays
    const total = w.embed.length + w.finalNorm.length + w.lmHead.length + w.layers.reduce((a, x) => a + Object.values(x).reduce((b, t) => b + (t ? t.length : 0), 0), 0);
    expect(countParameters(cfg)).toBe(total);
  });

  it('tied: lm_head is the embedding array; qwen2: q/k/v biases', async () => {
    const tied = await (await load({ seed: 2, tie: true })).weights();
    expect(tied.lmHead).toBe(tied.embed);
    const { cfg, weights } = await load({ seed: 3, qwen2: true, tie: true });
    const w = await weights();
    expect([w.layers[0]!.qBias!.length, w.layers[0]!.kBias!.length, w.layers[0]!.vBias!.length]).toEqual([72, 36, 36]);
    const total = w.embed.length + w.finalNorm.length + w.layers.reduce((a, x) => a + Object.values(x).reduce((b, t) => b + (t ? t.length : 0), 0), 0);
    expect(countParameters(cfg)).toBe(total);
  });

  it('F16 / BF16 checkpoints load as f32', async () => {
    const f32 = await (await load({ seed: 4 })).weights();
    for (const dtype of ['F16', 'BF16'] as const) {
      const w = await (await load({ seed: 4, dtype })).weights();
      const tol = dtype === 'F16' ? 2 ** -11 : 2 ** -8;
      const a = f32.layers[0]!.q;
      const b = w.layers[0]!.q;
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(Math.abs(a[i]!) * tol + 1e-7);
    }
  });

  it('accepts checkpoints without the "model." prefix', async () => {
    const { weights } = await load({ seed: 5 }, (t) => {
      for (const k of Object.keys(t)) if (k.startsWith('model.')) {
        t[k.slice(6)] = t[k]!;
        delete t[k];
      }
    });
    expect((await weights()).layers.length).toBe(2);
  });

  it('a missing tensor is a MissingTensorError naming file and tensor', async () => {
    for (const [opts, name] of [
      [{ seed: 6 }, 'model.layers.1.mlp.up_proj.weight'],
      [{ seed: 6 }, 'lm_head.weight'],
      [{ seed: 6 }, 'model.norm.weight'],
      [{ seed: 6, qwen2: true }, 'model.layers.0.self_attn.k_proj.bias'],
    ] as const) {
      const e = await rejection((await load(opts, (t) => delete t[name])).weights());
      expect(e).toBeInstanceOf(MissingTensorError);
      expect(e).toBeInstanceOf(ModelLoadError);
      expect(e.name).toBe('MissingTensorError');
      expect((e as MissingTensorError).tensor).toBe(name);
      expect((e as MissingTensorError).file).toBe('model.safetensors');
      expect(e.message).toMatch(new RegExp(`^model\\.safetensors: missing tensor "${name.replace(/\./g, '\\.')}"`));
    }
  });

  it('a wrong shape is a ShapeMismatchError with expected and actual', async () => {
    const name = 'model.layers.0.self_attn.k_proj.weight';
    const e = (await rejection(
      (await load({ seed: 7 }, (t) => (t[name] = { dtype: 'F32', shape: [72, 36], data: t[name]!.data }))).weights(),
    )) as ShapeMismatchError;
    expect(e).toBeInstanceOf(ShapeMismatchError);
    expect(e.name).toBe('ShapeMismatchError');
    expect(e.tensor).toBe(name);
    expect(e.expected).toEqual([36, 72]);
    expect(e.actual).toEqual([72, 36]);
    expect(e.message).toContain(name);
    expect(e.message).toContain('[36, 72]');
    // a wrong rank too
    const e2 = (await rejection((await load({ seed: 7 }, (t) => (t['model.norm.weight']!.shape = [1, 72]))).weights())) as ShapeMismatchError;
    expect(e2.actual).toEqual([1, 72]);
  });

  it('refuses a bias the config does not declare (it would be silently ignored)', async () => {
    const e = await rejection((await load({ seed: 8 }, (t) => (t['model.layers.0.self_attn.q_proj.bias'] = { dtype: 'F32', shape: [72], data: new Float32Array(72).fill(1) }))).weights());
    expect(e).toBeInstanceOf(ModelLoadError);
    expect(e.message).toContain('attention_bias');
  });

  it('countParameters of the embedded lab-target matches its reference.json', () => {
    const cfg = parseConfig(JSON.parse(readFileSync(new URL('lab-target/config.json', modelsDir), 'utf8')));
    const ref = JSON.parse(readFileSync(new URL('lab-target/reference.json', modelsDir), 'utf8'));
    expect(countParameters(cfg)).toBe(ref.parameters);
  });
});

describe('loadModel', () => {
  afterEach(() => vi.unstubAllGlobals());
  const labFile = (name: string, path = `lab-target/${name}`) => new File([readFileSync(new URL(`lab-target/${name}`, modelsDir))], path);

  it("'files': the embedded model from picked files (folder paths accepted)", async () => {
    const files = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((n) => labFile(n));
    const m = await loadModel({ kind: 'files', files });
    expect(m.name).toBe('lab-target');
    expect(m.config.nLayers).toBe(6);
    expect(m.rawConfig.model_type).toBe('llama');
    expect(m.weights.layers.length).toBe(6);
    expect(m.weightFileBytes).toBe(readFileSync(new URL('lab-target/model.safetensors', modelsDir)).length);
    expect(m.tokenizer!.encode('<|endoftext|>')).toEqual([1023]);
    expect(m.tokenizer!.eosTokenIds).toEqual([1023]);
    expect(m.timings.fetch).toBeGreaterThanOrEqual(0);
    expect(m.timings.parse).toBeGreaterThan(0);
  });

  it("'files': no tokenizer is fine; a missing or duplicated required file is named", async () => {
    const f = makeLlamaFixture({ seed: 9 });
    const config = new File([JSON.stringify(f.configJson)], 'config.json');
    const weights = new File([f.safetensors], 'model.safetensors');
    const m = await loadModel({ kind: 'files', files: [config, weights], name: 'fx' });
    expect(m.name).toBe('fx');
    expect(m.tokenizer).toBeNull();
    const e = await rejection(loadModel({ kind: 'files', files: [config] }));
    expect(e).toBeInstanceOf(ModelLoadError);
    expect((e as ModelLoadError).file).toBe('model.safetensors');
    expect((await rejection(loadModel({ kind: 'files', files: [weights] }))).message).toMatch(/^config\.json: missing/);
    expect((await rejection(loadModel({ kind: 'files', files: [config, weights, new File(['{}'], 'config.json')] }))).message).toMatch(/several files/);
    expect((await rejection(loadModel({ kind: 'files', files: [new File(['{nope'], 'config.json'), weights] }))).message).toMatch(/^config\.json: is not valid JSON/);
    const badTok = await rejection(loadModel({ kind: 'files', files: [config, weights, new File(['{"model": 3}'], 'tokenizer.json')] }));
    expect(badTok).toBeInstanceOf(TokenizerError);
  });

  it("'url': fetches the folder; 404 or an HTML fallback page on tokenizer files is fine; HTTP errors name file and status", async () => {
    const f = makeLlamaFixture({ seed: 10 });
    const served: Record<string, BodyInit | number> = { 'config.json': JSON.stringify(f.configJson), 'model.safetensors': f.safetensors as BodyInit, 'tokenizer.json': 404 };
    const urls: string[] = [];
    vi.stubGlobal('fetch', async (url: string) => {
      urls.push(url);
      const body = served[url.split('/').pop()!];
      if (typeof body === 'number') return new Response('x', { status: body });
      if (body === undefined) return new Response('<!doctype html>', { status: 200, headers: { 'content-type': 'text/html' } });
      return new Response(body, { status: 200 });
    });
    const m = await loadModel({ kind: 'url', baseUrl: '/models/fixture/' });
    expect(m.name).toBe('fixture');
    expect(m.tokenizer).toBeNull();
    expect(urls.sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((n) => `/models/fixture/${n}`));
    served['model.safetensors'] = 500;
    const e = await rejection(loadModel({ kind: 'url', baseUrl: '/models/fixture' }));
    expect(e).toBeInstanceOf(ModelLoadError);
    expect(e.message).toMatch(/^model\.safetensors: HTTP 500/);
    served['model.safetensors'] = f.safetensors as BodyInit;
    served['tokenizer.json'] = 503;
    expect((await rejection(loadModel({ kind: 'url', baseUrl: '/models/fixture' }))).message).toMatch(/^tokenizer\.json: HTTP 503/);
    delete served['config.json'];
    expect((await rejection(loadModel({ kind: 'url', baseUrl: '/models/fixture' }))).message).toMatch(/^config\.json: not found/);
  });
});
