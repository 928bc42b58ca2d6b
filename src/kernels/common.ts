// Shared helpers for kernel specs.

/** Workgroup count for n items at `perGroup` items per workgroup. */
export const groups = (n: number, perGroup: number): number => Math.ceil(n / perGroup);

/**
 * Fold a 1-D workgroup count into (x, y) so that neither exceeds 65535 (the WebGPU default limit).
 * Shaders recover the linear index as wid.y * nwg.x + wid.x and skip indices >= n.
 */
export function fold(n: number, max = 65535): readonly [number, number] {
  if (n <= max) return [n, 1];
  const y = Math.ceil(n / max);
  return [Math.ceil(n / y), y];
}
