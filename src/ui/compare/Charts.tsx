// The compare view's uPlot charts: the per-token latency distribution (one CDF per run, stepped lines) and the
// speed-versus-quality plane (decode tok/s against perplexity, one point per configuration, the Pareto front
// joined by a dashed line; points and their labels are drawn in a draw hook so each keeps its run's colour).
import { useEffect, useMemo, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { fmtNum } from '../format';
import { cdfData, speedQualityPoints, type Picked, type SpeedQualityPoint } from './data';

const HEIGHT = 240;
const FONT = '11px system-ui';
/** Tick labels that stay short: 950, 12.5k, 29.6M. */
const compact = (v: number) => (Math.abs(v) >= 1e6 ? `${fmtNum(v / 1e6)}M` : Math.abs(v) >= 1e4 ? `${fmtNum(v / 1e3)}k` : fmtNum(v, 4));
export const axis = (label: string, size = 44): uPlot.Axis => ({
  label,
  size,
  labelSize: 18,
  font: FONT,
  labelFont: FONT,
  stroke: '#4b5563',
  grid: { stroke: '#eef0f3' },
  values: (_u, ticks) => ticks.map(compact),
});

/** A uPlot chart that fills its box's width and is rebuilt when options or data change. */
export function UPlotChart({ options, data, testId }: { options: Omit<uPlot.Options, 'width' | 'height'>; data: uPlot.AlignedData; testId: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current!;
    const width = () => Math.max(240, el.clientWidth);
    const u = new uPlot({ ...options, width: width(), height: HEIGHT }, data, el);
    const ro = new ResizeObserver(() => u.setSize({ width: width(), height: HEIGHT }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
    };
  }, [options, data]);
  return <div class="chart" data-testid={testId} ref={box} />;
}

export function CdfChart({ picked }: { picked: Picked[] }) {
  const withGaps = picked.filter((p) => p.run.token_times_ms.length > 1);
  const { options, data } = useMemo(() => {
    const data = cdfData(withGaps.map((p) => p.run)) as uPlot.AlignedData;
    const stepped = uPlot.paths.stepped!({ align: 1 });
    const options: Omit<uPlot.Options, 'width' | 'height'> = {
      legend: { show: false },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: false }, y: { range: [0, 1] } },
      axes: [axis('ms per decoded token'), { ...axis('fraction of tokens ≤ x', 50), values: (_u, v) => v.map((x) => `${Math.round(x * 100)}%`) }],
      series: [{}, ...withGaps.map((p) => ({ label: p.name, stroke: p.color, width: 2, paths: stepped, points: { show: false }, spanGaps: true }))],
    };
    return { options, data };
  }, [withGaps.map((p) => `${p.key}:${p.color}`).join('|')]);
  return (
    <figure class="panel chart-card wide">
      <figcaption>
        Per-token latency distribution <span class="muted">(CDF of the gaps between token timestamps; further left is faster, steeper is steadier)</span>
      </figcaption>
      {withGaps.length === 0 ? <p class="muted small">None of the picked runs decoded more than one token.</p> : <UPlotChart options={options} data={data} testId="cdf-chart" />}
      <Legend picked={withGaps} />
    </figure>
  );
}

function Legend({ picked }: { picked: Picked[] }) {
  return (
    <div class="legend small">
      {picked.map((p) => (
        <span key={p.key}>
          <span class="swatch" style={{ background: p.color }} />
          {p.name}
        </span>
      ))}
    </div>
  );
}

function drawPoints(points: SpeedQualityPoint[]) {
  return (u: uPlot) => {
    const ctx = u.ctx;
    const px = uPlot.pxRatio;
    ctx.save();
    ctx.font = `${11 * px}px system-ui`;
    ctx.textAlign = 'left'; // uPlot leaves its axes' alignment and its series' dash behind
    ctx.textBaseline = 'middle';
    ctx.setLineDash([]);
    for (const p of points) {
      const x = u.valToPos(p.tokS, 'x', true);
      const y = u.valToPos(p.ppl, 'y', true);
      ctx.beginPath();
      ctx.arc(x, y, 5 * px, 0, 2 * Math.PI);
      ctx.fillStyle = p.color;
      ctx.fill();
      if (p.front) {
        ctx.lineWidth = 2 * px;
        ctx.strokeStyle = '#111827';
        ctx.beginPath();
        ctx.arc(x, y, 8 * px, 0, 2 * Math.PI);
        ctx.stroke();
      }
      ctx.fillStyle = '#1d2330';
      ctx.fillText(p.label, x + 11 * px, y);
    }
    ctx.restore();
  };
}

/** Padded range; a single value gets ±10% (or ±1). */
const pad = (lo: number, hi: number, fromZero: boolean): uPlot.Range.MinMax => {
  const span = hi - lo || Math.abs(hi) * 0.2 || 2;
  return [fromZero ? 0 : Math.max(0, lo - span * 0.15), hi + span * 0.15];
};

export function ParetoChart({ picked }: { picked: Picked[] }) {
  const points = useMemo(() => speedQualityPoints(picked), [picked]);
  const { options, data } = useMemo(() => {
    const sorted = [...points].sort((a, b) => a.tokS - b.tokS);
    const xs = sorted.map((p) => p.tokS);
    const front = sorted.map((p) => (p.front ? p.ppl : null));
    const maxX = Math.max(1, ...xs);
    const ppls = sorted.map((p) => p.ppl);
    const options: Omit<uPlot.Options, 'width' | 'height'> = {
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        // room on the right for the labels of the fastest points
        x: { time: false, range: () => [0, maxX * 1.45] },
        y: { range: () => (ppls.length ? pad(Math.min(...ppls), Math.max(...ppls), false) : [0, 10]) },
      },
      axes: [axis('decode tok/s → faster'), axis('perplexity ↓ better', 56)],
      series: [
        {},
        { label: 'configurations', stroke: 'transparent', paths: () => null, points: { show: false } },
        { label: 'Pareto front', stroke: '#111827', width: 1.5, dash: [6, 4], spanGaps: true, points: { show: false } },
      ],
      hooks: { draw: [drawPoints(points)] },
    };
    return { options, data: [xs, ppls, front] as uPlot.AlignedData };
  }, [points]);
  return (
    <figure class="panel chart-card wide">
      <figcaption>
        Speed versus quality <span class="muted">(one point per configuration; ringed points are on the Pareto front: nothing else is both faster and better)</span>
      </figcaption>
      <UPlotChart options={options} data={data} testId="pareto-chart" />
      {points.length === 0 ? (
        <p class="muted small" data-testid="pareto-none">
          No configuration among the picked runs has both a decode speed and a perplexity. Pick Generate runs and the quality run (“Measure quality” in the lab) of the same settings.
        </p>
      ) : (
        <table class="points small" data-testid="pareto-points">
          <tbody>
            {points.map((p, i) => (
              <tr key={i} data-testid="pareto-point" data-label={p.label} data-front={p.front ? 'yes' : 'no'}>
                <td>
                  <span class="swatch" style={{ background: p.color }} />
                  {p.label}
                </td>
                <td class="num">{fmtNum(p.tokS)} tok/s</td>
                <td class="num">perplexity {fmtNum(p.ppl)}</td>
                <td>{p.front ? 'Pareto front' : 'dominated'}</td>
                <td class="muted">
                  {p.nSpeed} speed run{p.nSpeed > 1 ? 's (median)' : ''}, {p.nQuality} quality run{p.nQuality > 1 ? 's (median)' : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </figure>
  );
}
