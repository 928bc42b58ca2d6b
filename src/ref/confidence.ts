// CPU reference (float64) for shaders/confidence.wgsl: how sure a row of logits is about its next token.
//   m = max z,  S = Σ exp(z_i − m),  maxProb = 1 / S  (softmax probability of the argmax, temperature 1),
//   entropy = −Σ p_i ln p_i = ln S − Σ exp(z_i − m)·(z_i − m) / S  (nats; 0 for one-hot, ln n for uniform),
//   argmax = the first index of the max (as src/ref/sample.ts's argmax).

import type { Vec } from './linear';
import { argmax } from './sample';

export interface Confidence {
  argmax: number;
  maxProb: number;
  entropy: number;
}

export function confidence(logits: Vec): Confidence {
  const n = logits.length;
  if (n === 0) throw new Error('confidence: no logits');
  const id = argmax(logits);
  const m = logits[id]!;
  let s = 0;
  let t = 0;
  for (let i = 0; i < n; i++) {
    const d = logits[i]! - m;
    const e = Math.exp(d);
    s += e;
    t += e * d;
  }
  return { argmax: id, maxProb: 1 / s, entropy: Math.log(s) - t / s };
}
