// The sparsity sweep: unstructured sparsity on x, decode tok/s (left axis) and perplexity (right axis), with the
// speed crossover marked — the first sparsity whose decode beats the dense model's. Built from the picked lab runs
// of one model whose pruning is none or unstructured (e.g. a `npm run bench -- --suite sparsity` session).
import { useMemo } from 'preact/hooks';
import type uPlot from 'uplot';
import type { SessionRun } from '../../bench/schema';
import { axis, UPlotChart } from './Charts';
import type { Picked } from './data';

export interface SweepPoint {
  sparsity: number; // 0..1
  tokS: number | null; // median decode tok/s of the runs at this sparsity
  ppl: number | null; // median perplexity of the quality runs at this sparsity
}

const median = (v: number[]) => (v.length ? [...v].sort((a, b) => a - b)[v.length >> 1]! : null);

function sparsityOf(r: SessionRun): number | null {
  const p = (r.config as { prune?: { kind?: string; sparsity?: number } }).prune;
  if (!p || p.kind === 'none') return 0;
  return p.kind === 'unstructured' && typeof p.sparsity === 'number' ? p.sparsity : null;
}

/** Sweep points by sparsity (lab runs only), and the crossover: the lowest sparsity faster than dense. */
export function sweepPoints(picked: Picked[]): { points: SweepPoint[]; crossover: number | null } {
  const by = new Map<number, SessionRun[]>();
  for (const { run } of picked) {
    const s = run.engine === 'lab' ? sparsityOf(run) : null;
    if (s !== null) by.set(s, [...(by.get(s) ?? []), run]);
  }
  const points = [...by.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([sparsity, runs]) => ({
      sparsity,
      tokS: median(runs.flatMap((r) => (r.metrics.decode_tok_s != null && r.metrics.generated_tokens > 1 ? [r.metrics.decode_tok_s] : []))),
      ppl: median(runs.flatMap((r) => (r.quality?.perplexity != null ? [r.quality.perplexity] : []))),
    }));
  const dense = points.find((p) => p.sparsity === 0)?.tokS ?? null;
  const cross = dense === null ? undefined : points.find((p) => p.sparsity > 0 && p.tokS !== null && p.tokS > dense);
  return { points, crossover: cross?.sparsity ?? null };
}

export function SparsityChart({ picked }: { picked: Picked[] }) {
  const { points, crossover } = useMemo(() => sweepPoints(picked), [picked.map((p) => p.key).join('|')]);
  const { options, data } = useMemo(() => {
    const data: uPlot.AlignedData = [points.map((p) => 100 * p.sparsity), points.map((p) => p.tokS), points.map((p) => p.ppl)];
    const markCrossover = (u: uPlot) => {
      if (crossover === null) return;
      const x = u.valToPos(100 * crossover, 'x', true);
      const ctx = u.ctx;
      ctx.save();
      ctx.strokeStyle = '#ea580c';
      ctx.setLineDash([5, 4]);
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      ctx.fillStyle = '#ea580c';
      ctx.font = '11px system-ui';
      const left = x > u.bbox.left + 0.6 * u.bbox.width; // near the right edge: label on the line's left
      ctx.textAlign = left ? 'right' : 'left';
      ctx.fillText(`faster than dense from ${Math.round(100 * crossover)}%`, left ? x - 6 : x + 6, u.bbox.top + 12);
      ctx.restore();
    };
    const options: Omit<uPlot.Options, 'width' | 'height'> = {
      legend: { show: false },
      scales: { x: { time: false }, tok: { range: (_u, lo, hi) => [0, Math.max(hi, lo) * 1.1] }, ppl: {} },
      axes: [axis('unstructured sparsity (%)'), { ...axis('decode tok/s', 50), scale: 'tok' }, { ...axis('perplexity', 50), scale: 'ppl', side: 1, grid: { show: false } }],
      series: [
        {},
        { label: 'decode tok/s', scale: 'tok', stroke: '#2563eb', width: 2, points: { size: 7 }, spanGaps: true },
        { label: 'perplexity', scale: 'ppl', stroke: '#dc2626', width: 2, dash: [4, 3], points: { size: 7 }, spanGaps: true },
      ],
      hooks: { draw: [markCrossover] },
    };
    return { options, data };
  }, [points, crossover]);
  if (points.length < 2) return null;
  return (
    <figure class="panel chart-card wide" data-testid="sparsity-sweep">
      <figcaption>
        Sparsity sweep <span class="muted">(blue: decode tok/s, left axis; red dashed: perplexity, right axis)</span>
      </figcaption>
      <UPlotChart options={options} data={data} testId="sparsity-chart" />
      <p class="muted small" data-testid="sparsity-crossover">
        {crossover === null ? 'No picked sparsity decodes faster than dense.' : `Speed crossover: ${Math.round(100 * crossover)}% sparsity is the first faster than dense.`}
      </p>
    </figure>
  );
}
