// Typed access to a parsed GGUF file's metadata (src/model/gguf.ts): each getter checks the value's type and
// range, and every failure is a GgufError naming the file, the key and what was expected.

import { GgufError } from './errors';
import type { GgufArray, GgufFile, GgufKv, GgufValueType } from './gguf';

const INT_TYPES: readonly GgufValueType[] = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'u64', 'i64'];
const describeKv = (kv: GgufKv): string =>
  kv.type === 'array' ? `an array of ${(kv.value as GgufArray).items.length} ${(kv.value as GgufArray).itemType}` : `${kv.type} ${JSON.stringify(String(kv.value).slice(0, 40))}`;

export class GgufMeta {
  constructor(readonly gg: GgufFile) {}
  private fail(key: string, msg: string): never {
    throw new GgufError(`${key}: ${msg}`, this.gg.file, key);
  }
  has(key: string): boolean {
    return this.gg.metadata.has(key);
  }
  private get(key: string, required: boolean): GgufKv | undefined {
    const kv = this.gg.metadata.get(key);
    if (!kv && required) this.fail(key, 'is missing');
    return kv;
  }
  string(key: string, dflt?: string): string;
  string(key: string, dflt: string | null): string | null;
  string(key: string, dflt?: string | null): string | null {
    const kv = this.get(key, dflt === undefined);
    if (!kv) return dflt!;
    if (kv.type !== 'string') this.fail(key, `must be a string, got ${describeKv(kv)}`);
    return kv.value as string;
  }
  /** A non-negative integer of any integer type (≤ 2^53 − 1). */
  int(key: string, dflt?: number): number;
  int(key: string, dflt: number | null): number | null;
  int(key: string, dflt?: number | null): number | null {
    const kv = this.get(key, dflt === undefined);
    if (!kv) return dflt!;
    if (!INT_TYPES.includes(kv.type) || typeof kv.value !== 'number' || kv.value < 0) this.fail(key, `must be a non-negative integer, got ${describeKv(kv)}`);
    return kv.value as number;
  }
  /** A finite number (f32, f64 or an integer type). */
  number(key: string, dflt?: number): number {
    const kv = this.get(key, dflt === undefined);
    if (!kv) return dflt!;
    if (typeof kv.value !== 'number' || !Number.isFinite(kv.value)) this.fail(key, `must be a finite number, got ${describeKv(kv)}`);
    return kv.value as number;
  }
  bool(key: string, dflt: boolean): boolean {
    const kv = this.get(key, false);
    if (!kv) return dflt;
    if (kv.type !== 'bool') this.fail(key, `must be a bool, got ${describeKv(kv)}`);
    return kv.value as boolean;
  }
  private array(key: string, required: boolean): GgufArray | null {
    const kv = this.get(key, required);
    if (!kv) return null;
    if (kv.type !== 'array') this.fail(key, `must be an array, got ${describeKv(kv)}`);
    return kv.value as GgufArray;
  }
  strings(key: string, required = true): string[] | null {
    const a = this.array(key, required);
    if (!a) return null;
    if (a.itemType !== 'string') this.fail(key, `must be an array of strings, got ${a.itemType} items`);
    return a.items as string[];
  }
  numbers(key: string, required = true): number[] | null {
    const a = this.array(key, required);
    if (!a) return null;
    if (a.itemType === 'string' || a.itemType === 'array' || a.itemType === 'bool' || a.items.some((v) => typeof v !== 'number'))
      this.fail(key, `must be an array of numbers, got ${a.itemType} items`);
    return a.items as number[];
  }
}
