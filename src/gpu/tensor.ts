// GpuTensor: the one handle for data on the GPU. Buffers never leave src/gpu/ bare: every other module holds a
// GpuTensor, and the pool that made it counts its bytes by purpose.

/** Element types a tensor can hold. Packed formats (int8/int4/2:4/…) are stored as 'u32' words. */
export type DType = 'f32' | 'f16' | 'u32' | 'i32';

/** What the bytes are for; the memory panel shows one line per purpose. */
export type Purpose = 'weights' | 'kv' | 'activations' | 'staging' | 'uniforms';

export const PURPOSES: readonly Purpose[] = ['weights', 'kv', 'activations', 'staging', 'uniforms'];

export const BYTES_PER_ELEMENT: Record<DType, number> = { f32: 4, f16: 2, u32: 4, i32: 4 };

export interface GpuTensor {
  /** Unique within a pool; bind-group caches key on it. */
  readonly id: number;
  readonly label: string;
  /** Logical shape, outermost first, e.g. (rows, cols). For packed formats, the shape of the u32 words. */
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly purpose: Purpose;
  /** Bytes allocated (>= elements × element size; rounded up to 4). */
  readonly bytes: number;
  /** @internal Only src/gpu/ touches the buffer. */
  readonly buffer: GPUBuffer;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeStr(shape: readonly number[]): string {
  return `(${shape.join(', ')})`;
}
