import { describe, expect, it } from 'vitest';
import { exampleSession } from '../../src/bench/example';
import type { SessionRun } from '../../src/bench/schema';
import type { Picked } from '../../src/ui/compare/data';
import { sweepPoints } from '../../src/ui/compare/SparsityChart';

function run(kind: string, sparsity: number, tokS: number | null, ppl: number | null): SessionRun {
  const base = exampleSession().runs[0]!;
  return {
    ...base,
    engine: 'lab',
    config: { ...base.config, prune: { kind, sparsity, scope: 'layer', targets: { attention: true, ffn: true } } },
    metrics: { ...base.metrics, decode_tok_s: tokS, generated_tokens: tokS === null ? 0 : 32 },
    quality: ppl === null ? undefined : { perplexity: ppl, top1_agreement: null, kl: null },
  } as SessionRun;
}
const pick = (runs: SessionRun[]): Picked[] => runs.map((r, i) => ({ key: `k${i}`, color: '#000', name: `r${i}`, run: r }) as unknown as Picked);

describe('sparsity sweep points', () => {
  it('groups by sparsity (none = 0), takes medians, and finds the first sparsity faster than dense', () => {
    const { points, crossover } = sweepPoints(
      pick([run('none', 0, 40, null), run('none', 0, 44, 17.7), run('unstructured', 0.5, 37, 18.1), run('unstructured', 0.7, 42, 21.2), run('unstructured', 0.9, 80, 152), run('2:4', 0.5, 30, 18.7)]),
    );
    expect(points.map((p) => p.sparsity)).toEqual([0, 0.5, 0.7, 0.9]); // 2:4 is not on the unstructured axis
    expect(points[0]).toMatchObject({ tokS: 44, ppl: 17.7 });
    expect(crossover).toBe(0.9);
  });

  it('reports no crossover when nothing beats dense', () => {
    expect(sweepPoints(pick([run('none', 0, 50, 17), run('unstructured', 0.5, 40, 18)])).crossover).toBeNull();
  });
});
