// Deterministic pseudo-random numbers for tests, fixtures and seeded sampling (same stream everywhere).

/** mulberry32: a small, fast 32-bit PRNG. Returns a function giving uniforms in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n normal(0, std) samples as f32 (Box–Muller). */
export function randn(n: number, seed: number, std = 1): Float32Array {
  const u = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - u())) * std;
    const th = 2 * Math.PI * u();
    out[i] = r * Math.cos(th);
    if (i + 1 < n) out[i + 1] = r * Math.sin(th);
  }
  return out;
}

/** n uniforms in [lo, hi) as f32. */
export function randu(n: number, seed: number, lo = 0, hi = 1): Float32Array {
  const u = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * u();
  return out;
}

/** An integer in [lo, hi] (inclusive). */
export function randint(u: () => number, lo: number, hi: number): number {
  return lo + Math.floor(u() * (hi - lo + 1));
}
