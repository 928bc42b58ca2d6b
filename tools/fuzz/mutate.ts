// Mutators for the fuzz harness: byte-level (truncate, bit flips, overwrite a length, splice junk) and
// JSON-level (delete/replace fields with wrong types, huge or negative numbers, deep or huge values).
import { mulberry32, randint } from '../../src/ref/random';

export type Rand = () => number;
export const rng = (seed: number): Rand => mulberry32(seed);
const pick = <T>(u: Rand, xs: readonly T[]): T => xs[Math.floor(u() * xs.length)]!;

export function mutateBytes(u: Rand, src: Uint8Array): { bytes: Uint8Array; how: string } {
  const b = new Uint8Array(src);
  switch (randint(u, 0, 5)) {
    case 0: {
      const n = randint(u, 0, Math.max(0, src.length - 1));
      return { bytes: b.slice(0, n), how: `truncate to ${n}` };
    }
    case 1: {
      const k = randint(u, 1, 16);
      for (let i = 0; i < k; i++) b[randint(u, 0, b.length - 1)]! ^= 1 << randint(u, 0, 7);
      return { bytes: b, how: `${k} bit flips` };
    }
    case 2: {
      // header length (first 8 bytes) huge, past the end, or zero
      const v = pick(u, [0n, 1n, BigInt(src.length), BigInt(src.length) * 1000n, 2n ** 53n, 2n ** 64n - 1n]);
      new DataView(b.buffer).setBigUint64(0, v, true);
      return { bytes: b, how: `header length ${v}` };
    }
    case 3: {
      const at = randint(u, 0, b.length - 1);
      const junk = new Uint8Array(randint(u, 1, 64)).map(() => randint(u, 0, 255));
      return { bytes: new Uint8Array([...b.slice(0, at), ...junk, ...b.slice(at)]), how: `splice ${junk.length} bytes at ${at}` };
    }
    case 4: {
      const at = randint(u, 0, b.length - 1);
      b.fill(pick(u, [0, 0xff, 0x7b, 0x22]), at, at + randint(u, 1, 32));
      return { bytes: b, how: `fill at ${at}` };
    }
    default:
      return { bytes: b.slice(0, 8), how: 'header length only' };
  }
}

const WEIRD: readonly unknown[] = [
  null, true, -1, 0, 1e308, -1e308, 2 ** 53, 1.5, 'x', '', [], {}, [1, 2, 3], { a: 1 }, 'F64', 'Q9_9',
  [-5, 10], [10, 5], [0, 1e15], [3.5, 7], 'A'.repeat(100_000),
];

/** A placeholder for d levels of nesting; toText() expands it (JSON.stringify itself would overflow the stack). */
const deep = (d: number): string => `\u0000DEEP:${d}`;

/** Serialise a mutated value, expanding deep-nesting placeholders into '[[[…0…]]]'. */
export function toText(v: unknown): string {
  return JSON.stringify(v).replace(/"\\u0000DEEP:(\d+)"/g, (_, d) => '['.repeat(Number(d)) + '0' + ']'.repeat(Number(d)));
}

/** Paths to every value in a JSON tree (bounded). */
function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = [], limit = 5000): (string | number)[][] {
  if (out.length >= limit) return out;
  out.push(at);
  if (Array.isArray(v)) v.slice(0, 50).forEach((x, i) => paths(x, [...at, i], out, limit));
  else if (v && typeof v === 'object') for (const k of Object.keys(v).slice(0, 200)) paths((v as Record<string, unknown>)[k], [...at, k], out, limit);
  return out;
}

/** A mutated copy of `src`, as JSON text. */
export function mutateJson(u: Rand, src: unknown): { text: string; how: string } {
  const v = structuredClone(src);
  const all = paths(v).filter((p) => p.length > 0);
  if (!all.length || u() < 0.05) return { text: toText(pick(u, [null, 42, 'str', [], deep(100_000)])), how: 'replace root' };
  const p = pick(u, all);
  const parent = p.slice(0, -1).reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], v) as Record<string | number, unknown>;
  const key = p[p.length - 1]!;
  const r = u();
  if (r < 0.3) {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
    return { text: toText(v), how: `delete ${p.join('.')}` };
  }
  if (r < 0.9) {
    const w = pick(u, WEIRD);
    parent[key] = w;
    return { text: toText(v), how: `${p.join('.')} = ${JSON.stringify(w)?.slice(0, 30)}` };
  }
  parent[key] = deep(randint(u, 1000, 200_000));
  return { text: toText(v), how: `${p.join('.')} = deep nesting` };
}
