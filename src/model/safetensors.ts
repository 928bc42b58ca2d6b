// .safetensors reader. Layout: 8-byte little-endian u64 N, then N bytes of UTF-8 JSON header
//   { "<tensor>": { "dtype": "F32", "shape": [r, c], "data_offsets": [begin, end] }, ..., "__metadata__": {k: v} }
// then the data section; data_offsets are relative to the data section's start (8 + N).
// Everything is bounds-checked; every failure is a SafetensorsError naming the file (and the tensor).
// ByteSource abstracts where bytes come from (memory, a picked File, a URL) so only the needed ranges are read.

import { MissingTensorError, ModelLoadError, SafetensorsError, ShapeMismatchError } from './errors';

export interface ByteSource {
  name: string;
  size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

export type StDType = 'F32' | 'F16' | 'BF16';
export interface TensorInfo {
  name: string;
  dtype: StDType;
  shape: number[];
  /** Absolute byte offsets in the file: [begin, end). */
  begin: number;
  end: number;
}
export interface SafetensorsFile {
  file: string;
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
}

export const DTYPE_BYTES: Record<StDType, number> = { F32: 4, F16: 2, BF16: 2 };
/** Largest header accepted; real headers are a few hundred KB at most. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;
const KNOWN_UNSUPPORTED = ['F64', 'F8_E4M3', 'F8_E5M2', 'I64', 'I32', 'I16', 'I8', 'U64', 'U32', 'U16', 'U8', 'BOOL'];

export function bytesSource(name: string, bytes: Uint8Array): ByteSource {
  return {
    name,
    size: bytes.length,
    read(offset, length) {
      if (!(offset >= 0 && length >= 0 && offset + length <= bytes.length))
        return Promise.reject(new ModelLoadError(`read of ${length} bytes at ${offset} is past the end (${bytes.length} bytes)`, name));
      return Promise.resolve(bytes.subarray(offset, offset + length));
    },
  };
}

export function fileSource(file: Blob & { name: string }): ByteSource {
  return {
    name: file.name,
    size: file.size,
    async read(offset, length) {
      if (!(offset >= 0 && length >= 0 && offset + length <= file.size))
        throw new ModelLoadError(`read of ${length} bytes at ${offset} is past the end (${file.size} bytes)`, file.name);
      try {
        return new Uint8Array(await file.slice(offset, offset + length).arrayBuffer());
      } catch (e) {
        // e.g. NotReadableError: a picked file changed on disk, or the browser dropped a large Blob's data
        throw new ModelLoadError(`could not read ${length} bytes at ${offset} (${(e as Error).name}: ${(e as Error).message})`, file.name);
      }
    },
  };
}

/** One GET of the whole file (HTTP Range requests can come later). `size`, when given, is checked. */
export async function urlSource(url: string, name: string, size?: number): Promise<ByteSource> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new ModelLoadError(`fetching ${url} failed: ${(e as Error).message}`, name);
  }
  if (!res.ok) throw new ModelLoadError(`HTTP ${res.status} ${res.statusText} fetching ${url}`.replace('  ', ' '), name);
  if ((res.headers.get('content-type') ?? '').startsWith('text/html'))
    throw new ModelLoadError(`the server answered ${url} with an HTML page, not the file (does it exist?)`, name);
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (size !== undefined && bytes.length !== size) throw new ModelLoadError(`expected ${size} bytes from ${url}, got ${bytes.length}`, name);
  return bytesSource(name, bytes);
}

export async function readSafetensors(src: ByteSource): Promise<SafetensorsFile> {
  const file = src.name;
  const bad = (msg: string, tensor?: string): never => {
    throw new SafetensorsError(tensor === undefined ? msg : `tensor "${tensor}": ${msg}`, file, tensor);
  };
  if (src.size < 8) bad(`file is ${src.size} bytes, too short for the 8-byte header length`);
  const lenBytes = await src.read(0, 8);
  const dv = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8);
  const headerLen = dv.getUint32(0, true) + dv.getUint32(4, true) * 2 ** 32;
  if (headerLen > MAX_HEADER_BYTES) bad(`header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file?)`);
  if (8 + headerLen > src.size) bad(`header length ${headerLen} runs past the end of the file (${src.size} bytes; truncated?)`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(await src.read(8, headerLen));
  } catch {
    return bad('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return bad(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return bad('header JSON is not an object');

  const dataStart = 8 + headerLen;
  const dataSize = src.size - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) bad('__metadata__ is not an object');
      for (const [k, v] of Object.entries(entry as object)) if (typeof v !== 'string') bad(`__metadata__["${k}"] is not a string`);
      metadata = { ...(entry as Record<string, string>) };
      continue;
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) bad('entry is not an object', name);
    const { dtype, shape, data_offsets: off } = entry as Record<string, unknown>;
    if (typeof dtype !== 'string') bad('dtype is missing', name);
    if (!Object.hasOwn(DTYPE_BYTES, dtype as string))
      bad(KNOWN_UNSUPPORTED.includes(dtype as string) ? `dtype ${dtype} is not supported (F32, F16, BF16)` : `unknown dtype "${dtype}"`, name);
    const isCount = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
    if (!Array.isArray(shape) || !shape.every(isCount)) bad(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`, name);
    if (!Array.isArray(off) || off.length !== 2 || !off.every(isCount) || off[0] > off[1])
      bad(`data_offsets ${JSON.stringify(off)} is not [begin, end] with 0 <= begin <= end`, name);
    const [b, e] = off as [number, number];
    if (e > dataSize) bad(`data_offsets end ${e} is past the end of the data section (${dataSize} bytes; truncated?)`, name);
    const numel = (shape as number[]).reduce((a, d) => a * d, 1);
    const want = numel * DTYPE_BYTES[dtype as StDType];
    if (e - b !== want) bad(`holds ${e - b} bytes but shape [${(shape as number[]).join(', ')}] of ${dtype} needs ${want}`, name);
    tensors.set(name, { name, dtype: dtype as StDType, shape: [...(shape as number[])], begin: dataStart + b, end: dataStart + e });
  }
  const sorted = [...tensors.values()].filter((t) => t.end > t.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const [p, t] = [sorted[i - 1]!, sorted[i]!];
    if (t.begin < p.end) bad(`overlaps tensor "${p.name}" (bytes ${t.begin}..${t.end} vs ${p.begin}..${p.end})`, t.name);
  }
  return { file, tensors, metadata };
}

/** Read one tensor as f32 (F16 and BF16 are widened exactly). */
export async function readTensorF32(src: ByteSource, info: TensorInfo): Promise<Float32Array> {
  const bytes = await src.read(info.begin, info.end - info.begin);
  const n = info.shape.reduce((a, d) => a * d, 1);
  if (bytes.length !== n * DTYPE_BYTES[info.dtype])
    throw new SafetensorsError(`tensor "${info.name}": read ${bytes.length} bytes, expected ${n * DTYPE_BYTES[info.dtype]}`, src.name, info.name);
  if (info.dtype === 'F32') {
    // Every WebGPU host is little-endian, like the file. An aligned tensor is a view on the bytes read (a file held
    // in memory is then not held twice: the weights are its bytes); an unaligned one is copied.
    if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, n);
    const out = new Float32Array(n);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const out = new Float32Array(n);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (info.dtype === 'BF16') {
    const u = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) u[i] = dv.getUint16(2 * i, true) << 16;
  } else {
    for (let i = 0; i < n; i++) out[i] = f16ToF32(dv.getUint16(2 * i, true));
  }
  return out;
}

/** IEEE 754 binary16 bits → number (exact). */
export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24; // zero / subnormal
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Reads a named tensor as f32 after checking it exists (MissingTensorError, with `detail` saying why it is
 *  expected) and has exactly `shape` (ShapeMismatchError). Shared by every safetensors layout's loader. */
export function tensorGetter(st: SafetensorsFile, src: ByteSource): (name: string, shape: number[], detail?: string) => Promise<Float32Array> {
  return async (name, shape, detail = '') => {
    const info = st.tensors.get(name);
    if (!info) throw new MissingTensorError(st.file, name, detail);
    if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i]))
      throw new ShapeMismatchError(st.file, name, shape, info.shape);
    return readTensorF32(src, info);
  };
}
