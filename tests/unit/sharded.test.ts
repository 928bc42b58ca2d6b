// Sharded safetensors: index validation, the virtual concatenated source's offsets, merging shard headers, and
// loading a sharded folder of picked files (same weights as the unsharded file).
import { describe, expect, it } from 'vitest';
import { bytesSource, readSafetensors, readTensorF32 } from '../../src/model/safetensors';
import { concatSources, openSharded, parseShardIndex } from '../../src/model/sharded';
import { loadModel } from '../../src/model/source';
import { loadFixture, makeLlamaFixture } from '../fixtures/llama';
import { writeSafetensors } from '../fixtures/safetensors-writer';
import { shardSafetensors } from '../hub/fixtures';

const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const dec = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as unknown;

describe('parseShardIndex', () => {
  it('lists shards in order of first appearance', () => {
    const ix = parseShardIndex({ metadata: {}, weight_map: { a: 's2.safetensors', b: 's1.safetensors', c: 's2.safetensors' } });
    expect(ix.shards).toEqual(['s2.safetensors', 's1.safetensors']);
    expect(ix.weightMap.get('c')).toBe('s2.safetensors');
  });
  it.each([
    [[], /is not a JSON object/],
    [{}, /weight_map is missing/],
    [{ weight_map: [] }, /weight_map is missing or not an object/],
    [{ weight_map: {} }, /weight_map is empty/],
    [{ weight_map: { a: 3 } }, /weight_map\["a"\] is not a file name/],
    [{ weight_map: { a: '../x.safetensors' } }, /not a plain \*\.safetensors file name/],
    [{ weight_map: { a: 'dir/x.safetensors' } }, /not a plain/],
    [{ weight_map: { a: 'x.bin' } }, /not a plain/],
    [{ weight_map: { a: '.x.safetensors' } }, /not a plain/],
    [{ weight_map: { a: 'a..b.safetensors' } }, /not a plain/],
  ])('refuses %j', (json, msg) => {
    expect(() => parseShardIndex(json)).toThrow(msg);
    try {
      parseShardIndex(json);
    } catch (e) {
      expect((e as Error).name).toBe('ModelLoadError');
      expect((e as Error).message).toMatch(/^model\.safetensors\.index\.json: /);
    }
  });
});

describe('concatSources', () => {
  const parts = [new Uint8Array([0, 1, 2]), new Uint8Array([3, 4, 5, 6, 7]), new Uint8Array([]), new Uint8Array([8, 9])];
  const src = concatSources('all', parts.map((p, i) => bytesSource(`p${i}`, p)));
  it('has the parts back to back', async () => {
    expect(src.size).toBe(10);
    expect(src.starts).toEqual([0, 3, 8, 8]);
    for (let off = 0; off <= 10; off++)
      for (let len = 0; off + len <= 10; len++) expect([...(await src.read(off, len))]).toEqual(Array.from({ length: len }, (_, i) => off + i));
  });
  it('refuses reads past the end, naming the source', async () => {
    await expect(src.read(8, 3)).rejects.toThrow(/^all: read of 3 bytes at 8 is past the end \(10 bytes over 4 shards\)/);
  });
});

describe('openSharded', () => {
  const f = makeLlamaFixture({ seed: 5 });
  const shardsOf = async (k: number) => {
    const files = await shardSafetensors(f.safetensors, k);
    const index = parseShardIndex(dec(files['model.safetensors.index.json']!));
    return { index, files, sources: index.shards.map((s) => bytesSource(s, files[s]!)) };
  };

  it('merges shard headers with offsets shifted by the shards before; every tensor reads back exactly', async () => {
    const { index, sources } = await shardsOf(3);
    const { src, st } = await openSharded(index, sources);
    const one = bytesSource('model.safetensors', f.safetensors);
    const ref = await readSafetensors(one);
    expect([...st.tensors.keys()].sort()).toEqual([...ref.tensors.keys()].sort());
    expect(src.size).toBe(sources.reduce((a, s) => a + s.size, 0));
    const last = index.shards.length - 1;
    for (const [name, t] of st.tensors) {
      const k = index.shards.indexOf(index.weightMap.get(name)!);
      const starts = sources.slice(0, k).reduce((a, s) => a + s.size, 0);
      expect(t.begin).toBeGreaterThanOrEqual(starts);
      expect(t.end).toBeLessThanOrEqual(k === last ? src.size : starts + sources[k]!.size);
      expect(await readTensorF32(src, t)).toEqual(await readTensorF32(one, ref.tensors.get(name)!));
    }
  });

  it('refuses a tensor missing from its shard, one in the wrong shard, one unlisted, a duplicate, a missing shard', async () => {
    const { index, sources } = await shardsOf(2);
    const [s1, s2] = index.shards as [string, string];
    const wm = Object.fromEntries(index.weightMap);
    const missing = parseShardIndex({ weight_map: { ...wm, 'model.extra.weight': s1 } });
    await expect(openSharded(missing, sources)).rejects.toThrow(`${s1}: tensor "model.extra.weight" is listed in model.safetensors.index.json but missing from the shard`);
    const name = [...index.weightMap.keys()][0]!;
    const wrong = parseShardIndex({ weight_map: { ...wm, [name]: s2 } });
    await expect(openSharded(wrong, sources)).rejects.toThrow(/is here but model\.safetensors\.index\.json puts it in/);
    const unlisted = parseShardIndex({ weight_map: Object.fromEntries([...index.weightMap].filter(([n]) => n !== name)) });
    await expect(openSharded(unlisted, sources)).rejects.toThrow(`tensor "${name}" is not listed in model.safetensors.index.json`);
    const dup = bytesSource(s2, writeSafetensors({ [name]: { dtype: 'F32', shape: [1], data: new Float32Array(1) } }));
    const dupIndex = parseShardIndex({ weight_map: { ...wm } });
    await expect(openSharded(dupIndex, [sources[0]!, dup])).rejects.toThrow(/is here but|is also in/);
    await expect(openSharded(index, sources.slice(0, 1))).rejects.toThrow(/lists 2 shard files but 1 were given/);
  });
});

describe('loadModel with a sharded folder of picked files', () => {
  it('loads the same weights as model.safetensors; a missing shard is named', async () => {
    const f = makeLlamaFixture({ seed: 9 });
    const files = await shardSafetensors(f.safetensors, 3);
    const picked = [new File([enc(f.configJson)], 'config.json'), ...Object.entries(files).map(([n, b]) => new File([b as BlobPart], n))];
    const m = await loadModel({ kind: 'files', files: picked, name: 'sharded' });
    const ref = await loadFixture({ seed: 9 });
    expect(m.weights.embed).toEqual(ref.weights.embed);
    expect(m.weights.layers).toEqual(ref.weights.layers);
    expect(m.weights.lmHead).toEqual(ref.weights.lmHead);
    expect(m.timings.fetchFrom).toBe('local');
    const lacking = picked.filter((p) => p.name !== 'model-00002-of-00003.safetensors');
    await expect(loadModel({ kind: 'files', files: lacking })).rejects.toThrow(
      'model-00002-of-00003.safetensors: missing: the folder lacks it (model.safetensors.index.json lists it)',
    );
    await expect(loadModel({ kind: 'files', files: picked.slice(0, 1) })).rejects.toThrow(/^model\.safetensors: missing: pick a folder with config\.json and model\.safetensors \(or model\.safetensors\.index\.json/);
  });
});

describe('loadModel format detection for picked files', () => {
  it('a llama2.c checkpoint (model.bin, no config.json) goes to the llama2.c loader, with the same weights', async () => {
    const { llama2cFromHf, writeLlama2c } = await import('../fixtures/llama2c-writer');
    const ref = await loadFixture({ seed: 11 });
    const bin = writeLlama2c(llama2cFromHf(ref.cfg, ref.weights), 0);
    const m = await loadModel({ kind: 'files', files: [new File([bin], 'stories.bin')] });
    expect(m.name).toBe('stories');
    expect(m.config.hiddenSize).toBe(ref.cfg.hiddenSize);
    expect(m.weights.embed).toEqual(ref.weights.embed);
  });
});
