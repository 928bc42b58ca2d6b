// CPU reference (float64) for shaders/elementwise.wgsl: element-wise activations and the residual add.
//   silu(x)        = x · σ(x) = x / (1 + e^(−x))
//   swiglu(g, u)   = silu(g) · u                          (Llama MLP: down(silu(gate(x)) · up(x)))
//   gelu(x)        = 0.5 x (1 + tanh(√(2/π)(x + 0.044715 x³)))   (GPT-2's "gelu_new", the tanh approximation)
//   add(a, b)      = a + b
import type { Vec } from './linear';

const map = (x: Vec, f: (v: number, i: number) => number): Float64Array => {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]!, i);
  return out;
};

const sameLength = (a: Vec, b: Vec, what: string): void => {
  if (a.length !== b.length) throw new Error(`${what}: lengths ${a.length} and ${b.length} differ`);
};

export function silu(x: Vec): Float64Array {
  return map(x, (v) => v / (1 + Math.exp(-v)));
}

export function swiglu(gate: Vec, up: Vec): Float64Array {
  sameLength(gate, up, 'swiglu');
  return map(gate, (g, i) => (g / (1 + Math.exp(-g))) * up[i]!);
}

const GELU_C = Math.sqrt(2 / Math.PI);

export function gelu(x: Vec): Float64Array {
  return map(x, (v) => 0.5 * v * (1 + Math.tanh(GELU_C * (v + 0.044715 * v * v * v))));
}

export function add(a: Vec, b: Vec): Float64Array {
  sameLength(a, b, 'add');
  return map(a, (v, i) => v + b[i]!);
}
