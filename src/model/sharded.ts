// Sharded safetensors checkpoints: model.safetensors.index.json + the shard files it names.
//   index:  { "metadata": { "total_size": N, ... }, "weight_map": { "<tensor>": "<shard file>", ... } }
//   shards: model-00001-of-0000K.safetensors, ... — each an ordinary .safetensors file (see safetensors.ts).
// The shards are presented to loadWeights as ONE virtual file: their bytes concatenated in the order the shards
// first appear in weight_map (shard k starts at the sum of the sizes of shards 0..k-1), and one merged
// SafetensorsFile whose tensors' absolute offsets are shifted by that start. Only the ranges loadWeights asks for
// are read, from whichever shard holds them (a read may span shards; a tensor never does).
// Validation (a ModelLoadError naming the index file, or a SafetensorsError naming the shard): weight_map is an
// object of tensor → file name; file names are plain "*.safetensors" names (no folders, no "..", ≤ 255 chars);
// every shard the index lists is given; a tensor appears in exactly one shard, and in the shard the index says;
// every tensor the index lists is in its shard.

import { ModelLoadError, SafetensorsError } from './errors';
import { readSafetensors, type ByteSource, type SafetensorsFile, type TensorInfo } from './safetensors';

export const SHARD_INDEX = 'model.safetensors.index.json';
/** More shards than this is not a model the lab can hold. */
export const MAX_SHARDS = 1000;

export interface ShardIndex {
  /** Tensor name → shard file name. */
  weightMap: Map<string, string>;
  /** The distinct shard file names, in order of first appearance in weight_map. */
  shards: string[];
}

const SAFE_SHARD = /^[A-Za-z0-9_][A-Za-z0-9._-]*\.safetensors$/;

/** Validate a parsed model.safetensors.index.json. */
export function parseShardIndex(json: unknown, file = SHARD_INDEX): ShardIndex {
  const bad = (msg: string): never => {
    throw new ModelLoadError(msg, file);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) bad('is not a JSON object');
  const wm = (json as Record<string, unknown>).weight_map;
  if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) bad('weight_map is missing or not an object of tensor → shard file');
  const weightMap = new Map<string, string>();
  const shards: string[] = [];
  for (const [tensor, shard] of Object.entries(wm as Record<string, unknown>)) {
    if (typeof shard !== 'string') bad(`weight_map["${tensor}"] is not a file name`);
    const s = shard as string;
    if (s.length > 255 || !SAFE_SHARD.test(s) || s.includes('..'))
      bad(`weight_map["${tensor}"] = ${JSON.stringify(s.slice(0, 80))} is not a plain *.safetensors file name (no folders, no "..")`);
    if (!shards.includes(s)) {
      if (shards.length >= MAX_SHARDS) bad(`lists more than ${MAX_SHARDS} shard files`);
      shards.push(s);
    }
    weightMap.set(tensor, s);
  }
  if (weightMap.size === 0) bad('weight_map is empty');
  return { weightMap, shards };
}

/** One ByteSource over several, back to back: part k covers [starts[k], starts[k] + parts[k].size). */
export function concatSources(name: string, parts: ByteSource[]): ByteSource & { starts: number[] } {
  const starts: number[] = [];
  let size = 0;
  for (const p of parts) {
    starts.push(size);
    size += p.size;
  }
  return {
    name,
    size,
    starts,
    async read(offset, length) {
      if (!(offset >= 0 && length >= 0 && offset + length <= size))
        throw new ModelLoadError(`read of ${length} bytes at ${offset} is past the end (${size} bytes over ${parts.length} shards)`, name);
      // the last part starting at or before offset
      let k = 0;
      while (k + 1 < parts.length && starts[k + 1]! <= offset) k++;
      const first = offset - starts[k]!;
      if (first + length <= parts[k]!.size) return parts[k]!.read(first, length); // the usual case: inside one shard
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const at = offset + done - starts[k]!;
        const n = Math.min(length - done, parts[k]!.size - at);
        out.set(await parts[k]!.read(at, n), done);
        done += n;
        k++;
      }
      return out;
    },
  };
}

/**
 * Read every shard's header and merge them into one virtual file for loadWeights. `shards[k]` is the source of
 * `index.shards[k]` (its `name` should be that file name); a missing one is the caller's error to report.
 */
export async function openSharded(index: ShardIndex, shards: ByteSource[], indexFile = SHARD_INDEX): Promise<{ src: ByteSource; st: SafetensorsFile }> {
  if (shards.length !== index.shards.length)
    throw new ModelLoadError(`lists ${index.shards.length} shard files but ${shards.length} were given`, indexFile);
  const src = concatSources(indexFile, shards);
  const tensors = new Map<string, TensorInfo>();
  const where = new Map<string, string>();
  const metadata: Record<string, string> = {};
  for (let k = 0; k < shards.length; k++) {
    const shardName = index.shards[k]!;
    const st = await readSafetensors(shards[k]!);
    Object.assign(metadata, st.metadata);
    for (const [name, t] of st.tensors) {
      const listed = index.weightMap.get(name);
      if (listed === undefined) throw new SafetensorsError(`tensor "${name}" is not listed in ${indexFile}`, shardName, name);
      if (listed !== shardName) throw new SafetensorsError(`tensor "${name}" is here but ${indexFile} puts it in ${listed}`, shardName, name);
      if (tensors.has(name)) throw new SafetensorsError(`tensor "${name}" is also in ${where.get(name)}`, shardName, name);
      tensors.set(name, { ...t, begin: t.begin + src.starts[k]!, end: t.end + src.starts[k]! });
      where.set(name, shardName);
    }
  }
  for (const [name, shard] of index.weightMap)
    if (!tensors.has(name)) throw new SafetensorsError(`tensor "${name}" is listed in ${indexFile} but missing from the shard`, shard, name);
  return { src, st: { file: indexFile, tensors, metadata } };
}
