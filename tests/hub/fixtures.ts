// The local Hub's repositories (tests/hub/server.ts), as files in memory; global-setup.ts writes them to disk and
// the tests regenerate the same bytes to compare against (everything is deterministic from HUB_SEED).
//   lab/tiny     config.json + model.safetensors (no tokenizer files: the optional 404 path)
//   lab/sharded  the same weights as 3 shards + model.safetensors.index.json
//   lab/gated    = lab/tiny behind a token;  lab/cut = lab/tiny with a cut-off download;  lab/slow = a slow one
//   lab/fresh, lab/away = lab/tiny, for the cache freshness tests (one changes its files, one goes offline)
// Revision: every repo under "main"; lab/tiny also under "v1" and under the commit id HUB_COMMIT (same files).

import { readSafetensors, readTensorF32, bytesSource } from '../../src/model/safetensors';
import { makeLlamaFixture } from '../fixtures/llama';
import { writeSafetensors, type FixtureTensor } from '../fixtures/safetensors-writer';

export const HUB_SEED = 41;
export const HUB_VOCAB = 97;
/** A revision of lab/tiny that is a full commit id (never re-checked). */
export const HUB_COMMIT = '0123456789abcdef0123456789abcdef01234567';

export type RepoFiles = Record<string, Uint8Array>;

/** A model.safetensors split into `k` shards by tensor order, with its index (as the Hub lays them out). */
export async function shardSafetensors(bytes: Uint8Array, k: number): Promise<RepoFiles> {
  const src = bytesSource('model.safetensors', bytes);
  const st = await readSafetensors(src);
  const names = [...st.tensors.keys()];
  const per = Math.ceil(names.length / k);
  const files: RepoFiles = {};
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < k; s++) {
    const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(k).padStart(5, '0')}.safetensors`;
    const tensors: Record<string, FixtureTensor> = {};
    for (const n of names.slice(s * per, (s + 1) * per)) {
      const info = st.tensors.get(n)!;
      tensors[n] = { dtype: 'F32', shape: info.shape, data: await readTensorF32(src, info) };
      weightMap[n] = file;
    }
    files[file] = writeSafetensors(tensors, { format: 'pt' });
  }
  const index = { metadata: { total_size: bytes.length }, weight_map: weightMap };
  files['model.safetensors.index.json'] = new TextEncoder().encode(JSON.stringify(index, null, 2));
  return files;
}

/** Every repository: "owner/name/revision" → files. */
export async function hubRepos(): Promise<Record<string, RepoFiles>> {
  const f = makeLlamaFixture({ seed: HUB_SEED, vocabSize: HUB_VOCAB });
  const config = new TextEncoder().encode(JSON.stringify(f.configJson, null, 2));
  const tiny: RepoFiles = { 'config.json': config, 'model.safetensors': f.safetensors };
  return {
    'lab/tiny/main': tiny,
    'lab/tiny/v1': tiny,
    'lab/sharded/main': { 'config.json': config, ...(await shardSafetensors(f.safetensors, 3)) },
    'lab/gated/main': tiny,
    'lab/cut/main': tiny,
    'lab/slow/main': tiny,
    [`lab/tiny/${HUB_COMMIT}`]: tiny,
    'lab/fresh/main': tiny,
    'lab/away/main': tiny,
  };
}
