// GGUF reader (ggml's single-file model format, versions 2 and 3), bounds-checked over a ByteSource.
// Layout, all little-endian:
//   u32 magic "GGUF" (bytes 47 47 55 46) · u32 version · u64 tensor_count · u64 metadata_kv_count
//   metadata_kv_count × { string key · u32 value_type · value }
//   tensor_count × { string name · u32 n_dims · u64 ne[n_dims] (ne[0] innermost: a matrix is (ne0=cols, ne1=rows))
//                    · u32 ggml_type · u64 offset (relative to the data section, a multiple of the alignment) }
//   padding to `general.alignment` (u32, default 32) · data section
// string = u64 byte length + UTF-8 bytes (no terminator). value types: 0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32,
// 6 f32, 7 bool (1 byte, 0/1), 8 string, 9 array (u32 item type, u64 count, items; arrays may nest), 10 u64,
// 11 i64, 12 f64. u64/i64 values are numbers when exactly representable, else bigint.
// Every length and count is checked against the bytes left in the file and a cap BEFORE anything is allocated;
// every tensor's byte range must lie inside the file, start aligned and not overlap another. Tensor types: F32,
// F16, BF16, Q8_0 and Q4_0 are read exactly; Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K and Q8_K are dequantized to f32
// (gguf-kquants.ts); every other ggml type is refused by name, as is a row (ne[0]) that is not a whole number of
// the type's blocks (32, or 256 for the K-quants). Errors are GgufErrors naming the file, the key or tensor, and
// the limit.

import { GgufError } from './errors';
import { GGML_DEQUANT } from './gguf-kquants';
import type { ByteSource } from './safetensors';

/** Metadata value type names, indexed by their u32 code. */
export const GGUF_VALUE_TYPES = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'f32', 'bool', 'string', 'array', 'u64', 'i64', 'f64'] as const;
export type GgufValueType = (typeof GGUF_VALUE_TYPES)[number];
export type GgufScalar = number | bigint | boolean | string;
export interface GgufArray {
  itemType: GgufValueType;
  items: (GgufScalar | GgufArray)[];
}
export type GgufValue = GgufScalar | GgufArray;
export interface GgufKv {
  type: GgufValueType;
  value: GgufValue;
}

/** ggml tensor type names by code (gaps are codes ggml has retired). */
export const GGML_TYPE_NAMES: Record<number, string> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 4: 'Q4_2 (retired)', 5: 'Q4_3 (retired)', 6: 'Q5_0', 7: 'Q5_1', 8: 'Q8_0',
  9: 'Q8_1', 10: 'Q2_K', 11: 'Q3_K', 12: 'Q4_K', 13: 'Q5_K', 14: 'Q6_K', 15: 'Q8_K', 16: 'IQ2_XXS', 17: 'IQ2_XS',
  18: 'IQ3_XXS', 19: 'IQ1_S', 20: 'IQ4_NL', 21: 'IQ3_S', 22: 'IQ2_S', 23: 'IQ4_XS', 24: 'I8', 25: 'I16', 26: 'I32',
  27: 'I64', 28: 'F64', 29: 'IQ1_M', 30: 'BF16', 31: 'Q4_0_4_4', 32: 'Q4_0_4_8', 33: 'Q4_0_8_8', 34: 'TQ1_0',
  35: 'TQ2_0', 36: 'IQ4_NL_4_4', 37: 'IQ4_NL_4_8', 38: 'IQ4_NL_8_8', 39: 'MXFP4',
};

/** The tensor types the lab reads: elements per block and bytes per block. */
export const GGML_SUPPORTED = {
  F32: { code: 0, block: 1, bytes: 4 },
  F16: { code: 1, block: 1, bytes: 2 },
  Q4_0: { code: 2, block: 32, bytes: 18 }, // f16 d + 16 bytes of nibbles
  Q8_0: { code: 8, block: 32, bytes: 34 }, // f16 d + 32 int8
  BF16: { code: 30, block: 1, bytes: 2 },
  ...GGML_DEQUANT, // dequantized to f32 masters
} as const;
export type GgmlType = keyof typeof GGML_SUPPORTED;
const TYPE_BY_CODE = new Map<number, GgmlType>(Object.entries(GGML_SUPPORTED).map(([k, v]) => [v.code, k as GgmlType]));

export interface GgufTensorInfo {
  name: string;
  type: GgmlType;
  /** ne[0] first (innermost): a matrix is [cols, rows]. */
  dims: number[];
  /** Absolute byte range in the file: [begin, end). */
  begin: number;
  end: number;
}

export interface GgufFile {
  file: string;
  version: number;
  metadata: Map<string, GgufKv>;
  tensors: Map<string, GgufTensorInfo>;
  alignment: number;
  /** Absolute offset of the data section. */
  dataStart: number;
}

/** Limits (the file's own size bounds every count as well). */
export const GGUF_LIMITS = {
  headerBytes: 512 * 1024 * 1024, // metadata + tensor infos
  stringBytes: 64 * 1024 * 1024, // one string value (chat templates are KBs; merges are many short strings)
  keyBytes: 65536, // one key or tensor name
  arrayItems: 1 << 24, // one array (the largest vocabularies are ~256k tokens)
  arrayDepth: 8, // nested arrays
  metadataKvs: 1 << 20,
  tensors: 1 << 20,
  dims: 4,
};

const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
/** Smallest encoding of one item of each value type (a string is at least its u64 length; an array its header). */
const MIN_ITEM_BYTES = [1, 1, 2, 2, 4, 4, 4, 1, 8, 12, 8, 8, 8];

/** Thrown by the cursor when the bytes read so far end before the header does (the caller reads more). */
class NeedMore extends Error {}

/** A synchronous cursor over the first `buf.length` bytes of a file of `fileSize` bytes. */
class Cursor {
  pos = 0;
  private readonly dv: DataView;
  constructor(
    private readonly buf: Uint8Array,
    private readonly fileSize: number,
    private readonly fail: (msg: string, where?: string) => never,
  ) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  /** Bytes left in the whole file after the cursor. */
  get left(): number {
    return this.fileSize - this.pos;
  }
  need(n: number, what: string, where?: string): void {
    if (n > this.left) this.fail(`${what} needs ${n} bytes at offset ${this.pos} but the file ends after ${this.left} (truncated?)`, where);
    if (this.pos + n > this.buf.length) throw new NeedMore();
  }
  u32(what: string, where?: string): number {
    this.need(4, what, where);
    const v = this.dv.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  /** u64 as a number, or a GgufError when it exceeds 2^53 − 1. */
  u64(what: string, where?: string): number {
    const v = this.u64big(what, where);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} is ${v}, above 2^53 - 1`, where);
    return Number(v);
  }
  u64big(what: string, where?: string): bigint {
    this.need(8, what, where);
    const v = this.dv.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }
  string(what: string, cap: number, where?: string): string {
    const n = this.u64(`${what} length`, where);
    if (n > cap) this.fail(`${what} is ${n} bytes, above the ${cap}-byte limit`, where);
    this.need(n, what, where);
    const bytes = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return this.fail(`${what} is not valid UTF-8`, where);
    }
  }
  scalar(type: number, where: string): GgufScalar {
    const dv = this.dv;
    const w = `value of type ${GGUF_VALUE_TYPES[type]}`;
    const fixed = (n: number, read: (o: number) => number | bigint) => {
      this.need(n, w, where);
      const v = read(this.pos);
      this.pos += n;
      return v;
    };
    switch (type) {
      case 0: return fixed(1, (o) => dv.getUint8(o));
      case 1: return fixed(1, (o) => dv.getInt8(o));
      case 2: return fixed(2, (o) => dv.getUint16(o, true));
      case 3: return fixed(2, (o) => dv.getInt16(o, true));
      case 4: return fixed(4, (o) => dv.getUint32(o, true));
      case 5: return fixed(4, (o) => dv.getInt32(o, true));
      case 6: return fixed(4, (o) => dv.getFloat32(o, true));
      case 7: {
        const b = fixed(1, (o) => dv.getUint8(o)) as number;
        if (b > 1) this.fail(`bool value is ${b}, not 0 or 1`, where);
        return b === 1;
      }
      case 8: return this.string('string value', GGUF_LIMITS.stringBytes, where);
      case 10: return small(fixed(8, (o) => dv.getBigUint64(o, true)) as bigint);
      case 11: return small(fixed(8, (o) => dv.getBigInt64(o, true)) as bigint);
      case 12: return fixed(8, (o) => dv.getFloat64(o, true));
      default: return this.fail(`unknown value type ${type}`, where);
    }
  }
  value(type: number, where: string, depth = 0): GgufValue {
    if (type !== 9) return this.scalar(type, where);
    if (depth >= GGUF_LIMITS.arrayDepth) this.fail(`arrays nest deeper than ${GGUF_LIMITS.arrayDepth} levels`, where);
    const itemCode = this.u32('array item type', where);
    if (itemCode >= GGUF_VALUE_TYPES.length) this.fail(`array item type ${itemCode} is unknown (0..12)`, where);
    const count = this.u64('array length', where);
    if (count > GGUF_LIMITS.arrayItems) this.fail(`array of ${count} items exceeds the ${GGUF_LIMITS.arrayItems}-item limit`, where);
    if (count * MIN_ITEM_BYTES[itemCode]! > this.left)
      this.fail(`array of ${count} ${GGUF_VALUE_TYPES[itemCode]} items needs at least ${count * MIN_ITEM_BYTES[itemCode]!} bytes; the file has ${this.left} left`, where);
    const items: (GgufScalar | GgufArray)[] = new Array(count);
    for (let i = 0; i < count; i++) items[i] = this.value(itemCode, where, depth + 1);
    return { itemType: GGUF_VALUE_TYPES[itemCode]!, items };
  }
}

const small = (v: bigint): number | bigint => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);

/** Parse a GGUF file's header (metadata and tensor infos); tensor data is read later, one tensor at a time. */
export async function readGguf(src: ByteSource): Promise<GgufFile> {
  const file = src.name;
  const fail = (msg: string, where?: string): never => {
    throw new GgufError(where === undefined ? msg : `${where}: ${msg}`, file, where);
  };
  if (src.size < 24) fail(`file is ${src.size} bytes, too short for a GGUF header (24 bytes)`);
  // The header's length is unknown until parsed: parse a prefix, and on running out re-parse a longer one.
  let len = Math.min(src.size, 1 << 20);
  for (;;) {
    try {
      return parseHeader(await src.read(0, len), src.size, file, fail);
    } catch (e) {
      if (!(e instanceof NeedMore)) throw e;
      if (len >= GGUF_LIMITS.headerBytes) fail(`metadata and tensor infos exceed the ${GGUF_LIMITS.headerBytes}-byte limit`);
      len = Math.min(src.size, len * 4, GGUF_LIMITS.headerBytes);
    }
  }
}

function parseHeader(buf: Uint8Array, fileSize: number, file: string, fail: (msg: string, where?: string) => never): GgufFile {
  const c = new Cursor(buf, fileSize, fail);
  const magic = c.u32('magic');
  if (magic !== MAGIC) {
    const seen = [...buf.subarray(0, 4)].map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
    fail(`not a GGUF file (magic "${seen}", expected "GGUF")`);
  }
  const version = c.u32('version');
  if (version !== 2 && version !== 3) {
    const swapped = ((version & 0xff) << 24) | ((version & 0xff00) << 8) | ((version >>> 8) & 0xff00) | (version >>> 24);
    if (swapped === 2 || swapped === 3) fail(`big-endian GGUF (version ${swapped}) is not supported`);
    fail(`GGUF version ${version} is not supported (2 or 3)`);
  }
  const nTensors = c.u64('tensor_count');
  const nKv = c.u64('metadata_kv_count');
  // each kv is at least 8 + 4 + 1 bytes, each tensor info at least 8 + 4 + 8 + 4 + 8
  const count = (what: string, n: number, limit: number, minBytes: number) => {
    if (n > limit) fail(`${what} ${n} exceeds the limit (${limit})`);
    if (n * minBytes > c.left) fail(`${what} ${n} needs at least ${n * minBytes} bytes but the file has ${c.left} left (truncated?)`);
  };
  count('metadata_kv_count', nKv, GGUF_LIMITS.metadataKvs, 13);
  count('tensor_count', nTensors, GGUF_LIMITS.tensors, 32);

  const metadata = new Map<string, GgufKv>();
  for (let i = 0; i < nKv; i++) {
    const key = c.string(`metadata key #${i}`, GGUF_LIMITS.keyBytes);
    if (metadata.has(key)) fail('duplicate metadata key', key);
    const code = c.u32('value type', key);
    if (code >= GGUF_VALUE_TYPES.length) fail(`value type ${code} is unknown (0..12)`, key);
    metadata.set(key, { type: GGUF_VALUE_TYPES[code]!, value: c.value(code, key) });
  }
  let alignment = 32;
  const al = metadata.get('general.alignment');
  if (al) {
    const v = al.value;
    if (al.type !== 'u32' || typeof v !== 'number' || v < 1 || v > 65536 || (v & (v - 1)) !== 0)
      fail(`must be a u32 power of two in 1..65536, got ${al.type} ${String(v)}`, 'general.alignment');
    alignment = v as number;
  }

  const infos: { name: string; type: GgmlType; dims: number[]; offset: number; bytes: number }[] = [];
  const names = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const name = c.string(`tensor #${i} name`, GGUF_LIMITS.keyBytes);
    if (names.has(name)) fail('duplicate tensor name', name);
    names.add(name);
    const nDims = c.u32('n_dims', name);
    if (nDims < 1 || nDims > GGUF_LIMITS.dims) fail(`n_dims ${nDims} is outside 1..${GGUF_LIMITS.dims}`, name);
    const dims: number[] = [];
    let numel = 1;
    for (let d = 0; d < nDims; d++) {
      const ne = c.u64(`ne[${d}]`, name);
      if (ne < 1) fail(`ne[${d}] is 0`, name);
      numel *= ne;
      if (numel > Number.MAX_SAFE_INTEGER) fail(`has more than 2^53 elements`, name);
      dims.push(ne);
    }
    const code = c.u32('ggml type', name);
    const type = TYPE_BY_CODE.get(code);
    if (!type) {
      const known = GGML_TYPE_NAMES[code];
      fail(`${known ? `ggml type ${known}` : `unknown ggml type ${code}`} is not supported (supported: ${Object.keys(GGML_SUPPORTED).join(', ')})`, name);
    }
    const t = GGML_SUPPORTED[type!];
    if (dims[0]! % t.block !== 0) fail(`ne[0] = ${dims[0]} is not a multiple of ${type}'s block of ${t.block}`, name);
    const offset = c.u64('offset', name);
    if (offset % alignment !== 0) fail(`offset ${offset} is not a multiple of the alignment ${alignment}`, name);
    infos.push({ name, type: type!, dims, offset, bytes: (numel / t.block) * t.bytes });
  }
  const dataStart = Math.ceil(c.pos / alignment) * alignment;
  const dataSize = fileSize - dataStart;
  if (nTensors > 0 && dataSize < 0) fail(`the data section would start at ${dataStart}, past the end of the file (${fileSize} bytes)`);
  const tensors = new Map<string, GgufTensorInfo>();
  for (const t of infos) {
    if (t.offset + t.bytes > dataSize)
      fail(`bytes ${t.offset}..${t.offset + t.bytes} of the data section run past its end (${Math.max(0, dataSize)} bytes; truncated?)`, t.name);
    tensors.set(t.name, { name: t.name, type: t.type, dims: t.dims, begin: dataStart + t.offset, end: dataStart + t.offset + t.bytes });
  }
  const sorted = [...tensors.values()].sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const [p, t] = [sorted[i - 1]!, sorted[i]!];
    if (t.begin < p.end) fail(`overlaps tensor "${p.name}" (bytes ${t.begin}..${t.end} vs ${p.begin}..${p.end})`, t.name);
  }
  return { file, version, metadata, tensors, alignment, dataStart };
}
