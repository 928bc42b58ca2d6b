// safetensors reader: F32/F16/BF16 round trips (through the fixture writer's round-to-nearest-even), metadata,
// the three ByteSources, and every malformed case giving a SafetensorsError that names the file (and tensor).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ModelLoadError, SafetensorsError } from '../../src/model/errors';
import { bytesSource, f16ToF32, fileSource, readSafetensors, readTensorF32, urlSource, type StDType } from '../../src/model/safetensors';
import { randn } from '../../src/ref/random';
import { f32ToBf16Bits, f32ToF16Bits, rawSafetensors, writeSafetensors } from '../fixtures/safetensors-writer';

const FILE = 'weights/model.safetensors';

async function roundTrip(tensors: Parameters<typeof writeSafetensors>[0], metadata?: Record<string, string>) {
  const src = bytesSource(FILE, writeSafetensors(tensors, metadata));
  const st = await readSafetensors(src);
  const out: Record<string, Float32Array> = {};
  for (const [name, info] of st.tensors) out[name] = await readTensorF32(src, info);
  return { st, out };
}

async function stError(bytes: Uint8Array, tensor?: string): Promise<SafetensorsError> {
  try {
    await readSafetensors(bytesSource(FILE, bytes));
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    expect((e as Error).name).toBe('SafetensorsError');
    const err = e as SafetensorsError;
    expect(err.file).toBe(FILE);
    expect(err.message.startsWith(`${FILE}: `), err.message).toBe(true);
    expect(err.tensor).toBe(tensor);
    if (tensor) expect(err.message).toContain(tensor);
    return err;
  }
  throw new Error('readSafetensors did not throw');
}

const entry = (dtype: string, shape: unknown, offs: unknown) => ({ dtype, shape, data_offsets: offs });
const header = (h: Record<string, unknown>) => JSON.stringify(h);

describe('safetensors round trip', () => {
  it('F32 exactly, with shapes, offsets and metadata', async () => {
    const a = randn(7 * 5, 1, 0.3);
    const b = randn(3, 2, 2);
    const { st, out } = await roundTrip({ a: { dtype: 'F32', shape: [7, 5], data: a }, 'x.b': { dtype: 'F32', shape: [3], data: b } }, { format: 'pt' });
    expect(st.file).toBe(FILE);
    expect(st.metadata).toEqual({ format: 'pt' });
    expect([...st.tensors.keys()]).toEqual(['a', 'x.b']);
    const ia = st.tensors.get('a')!;
    expect(ia).toMatchObject({ dtype: 'F32', shape: [7, 5] });
    expect(ia.end - ia.begin).toBe(140);
    expect(ia.begin % 8).toBe(0); // header padded to 8 bytes
    expect(out.a).toEqual(a);
    expect(out['x.b']).toEqual(b);
  });

  it('F32 from bytes in memory: an aligned tensor is a view on the file (not a second copy), an unaligned one a copy', async () => {
    const a = randn(3 * 4, 5, 1);
    const bytes = writeSafetensors({ a: { dtype: 'F32', shape: [3, 4], data: a }, b: { dtype: 'F16', shape: [1], data: new Float32Array([1]) }, c: { dtype: 'F32', shape: [2], data: new Float32Array([7, -8]) } });
    const src = bytesSource(FILE, bytes);
    const st = await readSafetensors(src);
    const view = await readTensorF32(src, st.tensors.get('a')!);
    expect(view).toEqual(a);
    expect(view.buffer).toBe(bytes.buffer); // zero-copy
    const odd = st.tensors.get('c')!; // after a 2-byte F16 tensor: begin is not a multiple of 4
    expect(odd.begin % 4).toBe(2);
    const copy = await readTensorF32(src, odd);
    expect([...copy]).toEqual([7, -8]);
    expect(copy.buffer).not.toBe(bytes.buffer);
  });

  it('F16: representable values exactly; ties round to even; overflow, subnormals, NaN', async () => {
    const exact = [1, -2, 0.5, 65504, -65504, 2 ** -14, 2 ** -24, 3 * 2 ** -24, 1 + 2 ** -10, 0.333251953125, -0];
    const rounded: [number, number][] = [
      [1 + 2 ** -11, 1], // halfway → even mantissa (…0)
      [1 + 3 * 2 ** -11, 1 + 2 * 2 ** -10], // halfway → even (…10)
      [1 + 2 ** -11 + 2 ** -20, 1 + 2 ** -10], // just above halfway → up
      [2 ** -25, 0], // half the smallest subnormal → even (0)
      [2 ** -25 + 2 ** -35, 2 ** -24],
      [3 * 2 ** -25, 2 * 2 ** -24], // 1.5 units → 2 (even)
      [65520, Infinity], // rounds past the largest finite
      [65519, 65504],
      [-1e6, -Infinity],
    ];
    const data = Float32Array.from([...exact, ...rounded.map(([x]) => x), NaN]);
    const { out } = await roundTrip({ h: { dtype: 'F16', shape: [data.length], data } });
    const want = [...exact, ...rounded.map(([, y]) => y)];
    want.forEach((w, i) => expect(out.h![i], `#${i}: ${data[i]}`).toBe(w));
    expect(Number.isNaN(out.h![data.length - 1])).toBe(true);
    // every one of the 2^16 bit patterns survives f16 → f32 → f16
    for (let bits = 0; bits < 0x10000; bits++) {
      const v = f16ToF32(bits);
      if (!Number.isNaN(v)) expect(f32ToF16Bits(v)).toBe(bits);
    }
  });

  it('BF16: top 16 bits, round to nearest even, overflow, subnormals, NaN kept', async () => {
    const cases: [number, number][] = [
      [1, 1],
      [-3.5, -3.5],
      [1 + 2 ** -8, 1], // halfway → even
      [1 + 3 * 2 ** -8, 1 + 2 ** -6], // halfway → even
      [1 + 2 ** -8 + 2 ** -20, 1 + 2 ** -7], // above halfway → up
      [2 ** -130, 2 ** -130], // subnormal, exact
      [0xff * 2 ** 120, 0xff * 2 ** 120], // largest finite bf16
      [3.4028234663852886e38, Infinity], // largest f32 rounds past it
    ];
    const data = Float32Array.from([...cases.map(([x]) => x), NaN]);
    const { out } = await roundTrip({ b: { dtype: 'BF16', shape: [3, 3], data } });
    cases.forEach(([x, y], i) => expect(out.b![i], `${x}`).toBe(y));
    expect(Number.isNaN(out.b![cases.length])).toBe(true);
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    for (let bits = 0; bits < 0x10000; bits++) {
      u[0] = bits << 16;
      if (!Number.isNaN(f[0])) expect(f32ToBf16Bits(f[0]!)).toBe(bits);
    }
  });

  it('mixed dtypes and an empty tensor in one file', async () => {
    const d = randn(33, 4, 0.1);
    const { out, st } = await roundTrip({
      f: { dtype: 'F32', shape: [33], data: d },
      e: { dtype: 'F16', shape: [0, 5], data: new Float32Array(0) },
      g: { dtype: 'BF16', shape: [3, 11], data: d },
      h: { dtype: 'F16', shape: [33], data: d },
    });
    expect(out.e!.length).toBe(0);
    expect(st.tensors.get('e')!.shape).toEqual([0, 5]);
    for (let i = 0; i < 33; i++) {
      expect(Math.abs(out.g![i]! - d[i]!)).toBeLessThanOrEqual(Math.abs(d[i]!) * 2 ** -8);
      expect(Math.abs(out.h![i]! - d[i]!)).toBeLessThanOrEqual(Math.abs(d[i]!) * 2 ** -11 + 2 ** -25);
    }
  });

  it('fileSource and urlSource read the same bytes', async () => {
    const bytes = writeSafetensors({ w: { dtype: 'F32', shape: [2, 3], data: randn(6, 9) } });
    const file = new File([bytes], 'model.safetensors');
    const fs = fileSource(file);
    expect(fs.size).toBe(bytes.length);
    const st = await readSafetensors(fs);
    expect(await readTensorF32(fs, st.tensors.get('w')!)).toEqual(randn(6, 9));
    vi.stubGlobal('fetch', async () => new Response(bytes, { status: 200, headers: { 'content-type': 'application/octet-stream' } }));
    const us = await urlSource('/models/x/model.safetensors', 'model.safetensors', bytes.length);
    expect(await readTensorF32(us, (await readSafetensors(us)).tensors.get('w')!)).toEqual(randn(6, 9));
  });
});

describe('urlSource errors', () => {
  afterEach(() => vi.unstubAllGlobals());
  it('HTTP errors, HTML fallback pages and network failures name the file and status', async () => {
    vi.stubGlobal('fetch', async () => new Response('nope', { status: 403, statusText: 'Forbidden' }));
    await expect(urlSource('/m/model.safetensors', 'model.safetensors')).rejects.toThrow(/^model\.safetensors: HTTP 403 Forbidden/);
    vi.stubGlobal('fetch', async () => new Response('<!doctype html>', { status: 200, headers: { 'content-type': 'text/html' } }));
    await expect(urlSource('/m/model.safetensors', 'model.safetensors')).rejects.toThrow(/model\.safetensors: .*HTML/);
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch');
    });
    await expect(urlSource('/m/model.safetensors', 'model.safetensors')).rejects.toBeInstanceOf(ModelLoadError);
    vi.stubGlobal('fetch', async () => new Response(new Uint8Array(10)));
    await expect(urlSource('/m/model.safetensors', 'model.safetensors', 11)).rejects.toThrow(/expected 11 bytes/);
  });
});

describe('malformed safetensors → SafetensorsError naming the file (and tensor)', () => {
  const data16 = new Uint8Array(16);
  const ok = entry('F32', [2, 2], [0, 16]);

  it('file shorter than 8 bytes', async () => {
    expect((await stError(new Uint8Array(5))).message).toContain('too short');
  });
  it('header length past the end of the file', async () => {
    expect((await stError(rawSafetensors(header({ w: ok }), data16, 4000))).message).toMatch(/past the end/);
  });
  it('absurd header length (> 100 MB, including the u64 high word)', async () => {
    expect((await stError(rawSafetensors('{}', data16, 200_000_000))).message).toMatch(/exceeds/);
    expect((await stError(rawSafetensors('{}', data16, 2n ** 40n))).message).toMatch(/exceeds/);
  });
  it('header not UTF-8, not JSON, not an object', async () => {
    expect((await stError(rawSafetensors(new Uint8Array([0x7b, 0xff, 0x7d])))).message).toMatch(/UTF-8/);
    expect((await stError(rawSafetensors('{"w": '))).message).toMatch(/not valid JSON/);
    expect((await stError(rawSafetensors('[1, 2]'))).message).toMatch(/not an object/);
    expect((await stError(rawSafetensors('null'))).message).toMatch(/not an object/);
  });
  it('bad __metadata__', async () => {
    expect((await stError(rawSafetensors(header({ __metadata__: { a: 1 } })))).message).toMatch(/__metadata__/);
    expect((await stError(rawSafetensors(header({ __metadata__: 'x' })))).message).toMatch(/__metadata__/);
  });
  it('entry not an object', async () => {
    await stError(rawSafetensors(header({ w: [1, 2] }), data16), 'w');
  });
  it('unknown or unsupported dtype, named', async () => {
    expect((await stError(rawSafetensors(header({ w: entry('Q4_K', [2, 2], [0, 16]) }), data16), 'w')).message).toContain('"Q4_K"');
    expect((await stError(rawSafetensors(header({ w: entry('I32', [2, 2], [0, 16]) }), data16), 'w')).message).toContain('I32');
    expect((await stError(rawSafetensors(header({ w: entry('toString', [2, 2], [0, 16]) }), data16), 'w')).message).toContain('toString');
    await stError(rawSafetensors(header({ w: { shape: [4], data_offsets: [0, 16] } }), data16), 'w');
  });
  it('shape not a list of non-negative integers', async () => {
    for (const shape of [[2, -2], [2.5], '4', [null], null]) await stError(rawSafetensors(header({ w: entry('F32', shape, [0, 16]) }), data16), 'w');
  });
  it('data_offsets not [begin, end] with begin <= end', async () => {
    for (const offs of [[16, 0], [0], [0, 16, 32], [-4, 12], [0, 16.5], 'x', null]) await stError(rawSafetensors(header({ w: entry('F32', [2, 2], offs) }), data16), 'w');
  });
  it('end past the data section (truncated file)', async () => {
    expect((await stError(rawSafetensors(header({ w: entry('F32', [2, 2], [8, 24]) }), data16), 'w')).message).toMatch(/past the end/);
  });
  it('byte size != numel × dtype size', async () => {
    const e = await stError(rawSafetensors(header({ w: entry('F16', [2, 2], [0, 16]) }), data16), 'w');
    expect(e.message).toMatch(/holds 16 bytes.*needs 8/);
  });
  it('overlapping tensors', async () => {
    const h = header({ a: entry('F32', [2], [0, 8]), b: entry('F32', [2], [4, 12]), c: entry('F32', [1], [12, 16]) });
    expect((await stError(rawSafetensors(h, data16), 'b')).message).toContain('"a"');
  });
  it('a read past the end of a ByteSource is a ModelLoadError naming the file', async () => {
    await expect(bytesSource('x.bin', new Uint8Array(4)).read(2, 4)).rejects.toThrow(/^x\.bin: /);
    await expect(fileSource(new File([new Uint8Array(4)], 'y.bin')).read(0, 5)).rejects.toThrow(/^y\.bin: /);
  });
});

describe('dtype sizes', () => {
  it('every StDType is readable', async () => {
    for (const dtype of ['F32', 'F16', 'BF16'] as StDType[]) {
      const { out } = await roundTrip({ t: { dtype, shape: [3], data: Float32Array.from([1, -0.5, 2]) } });
      expect(Array.from(out.t!)).toEqual([1, -0.5, 2]);
    }
  });
});
