// f16-storage linear kernels: GEMV (one token) and matmul (many), y = x·Ŵᵀ (+ b) (+ y), Ŵ two binary16 per u32
// word, f32 accumulation. Math, layout and entry points: shaders/gemv_f16.wgsl, shaders/matmul_f16.wgsl. CPU
// spec: linearF16 (src/ref/f16.ts).
//
// Two storage variants of each family, assembled from its one shader file (assembleF16):
//   'unpack' — unpack2x16float (core WGSL): every adapter, SwiftShader included.
//   'native' — `enable f16` and an array<vec2<f16>> view of the same buffer: adapters with 'shader-f16'.
// A pipeline's module is keyed by the spec's name (src/gpu/pipelines.ts) and a module cannot be compiled without
// the feature its enable directive names, so each storage variant is its own KernelSpec ('gemv_f16',
// 'gemv_f16_native', …); f16Kernels(storage) picks the pair, and f16Storage(traits) picks the storage:
// native where traits.hasF16. Within a spec, variant() picks the entry point (rows4 / wg, reg4x4 / tile16).
import gemvSource from '../../shaders/gemv_f16.wgsl?raw';
import matmulSource from '../../shaders/matmul_f16.wgsl?raw';
import { defineKernel, read, readWrite, type AdapterTraits } from '../gpu/kernel';
import { fold, groups } from './common';

export type F16Storage = 'unpack' | 'native';

const MARK_UNPACK = '// ---- storage: unpack';
const MARK_NATIVE = '// ---- storage: native';
const MARK_ENTRIES = '// ---- entry points';

/** The WGSL module of one storage variant: the shared head, that variant's storage section, the entry points. */
export function assembleF16(source: string, storage: F16Storage, file: string): string {
  const a = source.indexOf(MARK_UNPACK);
  const n = source.indexOf(MARK_NATIVE);
  const e = source.indexOf(MARK_ENTRIES);
  if (!(a >= 0 && a < n && n < e)) throw new Error(`${file}: storage/entry-point section markers missing or out of order`);
  const head = source.slice(0, a);
  const entries = source.slice(e);
  return storage === 'native' ? `enable f16;\n${head}${source.slice(n, e)}${entries}` : `${head}${source.slice(a, n)}${entries}`;
}

/** Native f16 loads where the device has 'shader-f16', else unpack2x16float. */
export const f16Storage = (traits: Pick<AdapterTraits, 'hasF16'>): F16Storage => (traits.hasF16 ? 'native' : 'unpack');

export interface GemvF16Shape {
  rows: number;
  cols: number;
  bias?: boolean;
  /** y += Ŵ·x (fused residual add). */
  accumulate?: boolean;
}

export interface MatmulF16Shape extends GemvF16Shape {
  /** Tokens (rows of x and y). */
  n: number;
}

export type GemvF16VariantName = 'rows4' | 'wg';
export type MatmulF16VariantName = 'reg4x4' | 'tile16';
export const GEMV_F16_VARIANTS: readonly GemvF16VariantName[] = ['rows4', 'wg'];
export const MATMUL_F16_VARIANTS: readonly MatmulF16VariantName[] = ['reg4x4', 'tile16'];

const WG = 64;

/** The autotuned choice (traits.tuned['gemv_f16']) where set, else rows4 on CPU-emulated adapters, wg on GPUs. */
export function gemvF16VariantName(traits: AdapterTraits): GemvF16VariantName {
  const tuned = traits.tuned['gemv_f16'] as GemvF16VariantName | undefined;
  if (tuned && GEMV_F16_VARIANTS.includes(tuned)) return tuned;
  return traits.isFallback ? 'rows4' : 'wg';
}

/** The autotuned choice (traits.tuned['matmul_f16']) where set, else reg4x4 on CPU-emulated adapters, tile16 on GPUs. */
export function matmulF16VariantName(traits: AdapterTraits): MatmulF16VariantName {
  const tuned = traits.tuned['matmul_f16'] as MatmulF16VariantName | undefined;
  if (tuned && MATMUL_F16_VARIANTS.includes(tuned)) return tuned;
  return traits.isFallback ? 'reg4x4' : 'tile16';
}

function needsF16(name: string, storage: F16Storage, traits: AdapterTraits): void {
  if (storage === 'native' && !traits.hasF16) throw new Error(`${name}: the native f16 variant needs the device feature 'shader-f16', which this device lacks`);
}

function gemvSpec(storage: F16Storage) {
  const name = storage === 'native' ? 'gemv_f16_native' : 'gemv_f16';
  return defineKernel({
    name,
    source: assembleF16(gemvSource, storage, 'shaders/gemv_f16.wgsl'),
    uniforms: [['rows', 'u32'], ['cols', 'u32']],
    bindings: [read('W'), read('x'), read('b'), readWrite('y')],
    variant: (s: GemvF16Shape & { force?: GemvF16VariantName }, traits) => {
      needsF16(name, storage, traits);
      return { entry: s.force ?? gemvF16VariantName(traits), constants: { WG, HAS_BIAS: s.bias ? 1 : 0, ACCUMULATE: s.accumulate ? 1 : 0 } };
    },
    dispatch: (s, v) => (v.entry === 'wg' ? fold(s.rows) : [groups(s.rows, 4 * WG)]),
  });
}

function matmulSpec(storage: F16Storage) {
  const name = storage === 'native' ? 'matmul_f16_native' : 'matmul_f16';
  return defineKernel({
    name,
    source: assembleF16(matmulSource, storage, 'shaders/matmul_f16.wgsl'),
    uniforms: [['n', 'u32'], ['rows', 'u32'], ['cols', 'u32']],
    bindings: [read('W'), read('x'), read('b'), readWrite('y')],
    variant: (s: MatmulF16Shape & { force?: MatmulF16VariantName }, traits) => {
      needsF16(name, storage, traits);
      const entry = s.force ?? matmulF16VariantName(traits);
      const constants: Record<string, number> = { HAS_BIAS: s.bias ? 1 : 0, ACCUMULATE: s.accumulate ? 1 : 0 };
      if (entry === 'reg4x4') constants.WG = WG; // tile16 is a fixed 16×16
      return { entry, constants };
    },
    dispatch: (s, v) => (v.entry === 'tile16' ? [groups(s.rows, 16), groups(s.n, 16)] : [groups(s.rows, 4 * WG), groups(s.n, 4)]),
  });
}

export const gemvF16 = gemvSpec('unpack');
export const gemvF16Native = gemvSpec('native');
export const matmulF16 = matmulSpec('unpack');
export const matmulF16Native = matmulSpec('native');

/** The GEMV and matmul specs of one storage variant. */
export function f16Kernels(storage: F16Storage): { gemv: typeof gemvF16; matmul: typeof matmulF16 } {
  return storage === 'native' ? { gemv: gemvF16Native, matmul: matmulF16Native } : { gemv: gemvF16, matmul: matmulF16 };
}
