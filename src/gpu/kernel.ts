// Kernels as data. A KernelSpec says what a WGSL entry point reads and writes, which uniforms it takes, how
// its variant is chosen from the problem shape and how many workgroups it needs. One generic dispatcher
// (Recorder.run in ./recorder.ts) runs every spec. Compare ratchet's Kernel trait and gpu.cpp's createKernel.

export type UniformType = 'u32' | 'i32' | 'f32';

/** One binding of group 0, in order. Binding 0 is always the uniform block when `uniforms` is non-empty. */
export interface BindingSpec {
  name: string;
  access: 'read' | 'readWrite';
}

export const read = (name: string): BindingSpec => ({ name, access: 'read' });
export const readWrite = (name: string): BindingSpec => ({ name, access: 'readWrite' });

/** Values for a variant's `override` constants and its entry point. */
export interface Variant {
  /** WGSL entry point; default 'main'. */
  entry?: string;
  /** WGSL `override` constants (workgroup size, rows per thread, …). */
  constants?: Record<string, number>;
}

/** What a variant chooser may know about the adapter (and its measured autotune choices). */
export interface AdapterTraits {
  isFallback: boolean;
  hasSubgroups: boolean;
  hasF16: boolean;
  maxWorkgroupSize: number;
  /** Autotuned variant names by kernel family, e.g. { gemv: 'rows4' }; empty until measured. */
  tuned: Record<string, string>;
}

export interface KernelSpec<Shape, V extends Variant = Variant> {
  /** Family name, e.g. 'gemv'. Used in pipeline keys, labels and the per-kernel profile. */
  name: string;
  /** WGSL source (one file per family, see shaders/). */
  source: string;
  /** Uniform fields in struct order (each 4 bytes), or [] for none. */
  uniforms: readonly (readonly [string, UniformType])[];
  bindings: readonly BindingSpec[];
  variant(shape: Shape, traits: AdapterTraits): V;
  /** Workgroup counts [x, y, z]. */
  dispatch(shape: Shape, variant: V): readonly [number, number?, number?];
}

export function defineKernel<Shape, V extends Variant = Variant>(spec: KernelSpec<Shape, V>): KernelSpec<Shape, V> {
  const names = new Set<string>();
  for (const b of spec.bindings) {
    if (names.has(b.name)) throw new Error(`kernel ${spec.name}: binding '${b.name}' declared twice`);
    names.add(b.name);
  }
  return spec;
}

/**
 * The one function that names a pipeline. The key doubles as the pipeline's label, so a profile or a
 * validation error names the exact variant. Never build a key string by hand.
 */
export function pipelineKey(kernel: string, variant: Variant): string {
  const entry = variant.entry ?? 'main';
  const consts = Object.entries(variant.constants ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return consts ? `${kernel}:${entry}[${consts}]` : `${kernel}:${entry}`;
}

/** Pack uniform values in struct order, padded to 16 bytes. */
export function packUniforms(fields: KernelSpec<unknown>['uniforms'], values: Record<string, number>): ArrayBuffer {
  const buf = new ArrayBuffer(Math.max(16, Math.ceil((fields.length * 4) / 16) * 16));
  const dv = new DataView(buf);
  fields.forEach(([name, type], i) => {
    const v = values[name];
    if (v === undefined || Number.isNaN(v)) throw new Error(`uniform '${name}' missing`);
    if (type === 'f32') dv.setFloat32(i * 4, v, true);
    else if (type === 'i32') dv.setInt32(i * 4, v, true);
    else dv.setUint32(i * 4, v, true);
  });
  return buf;
}
