// The compare view: pick runs from any sessions on the left; on the right, every metric side by side, decode
// speed bars, the per-token latency CDFs, GPU memory by purpose, quality, and speed versus quality with its
// Pareto front. Charts: uPlot for the CDF and the scatter; plain CSS bars for the bar charts (see Bars.tsx).
import { DecodeBars, MemoryBars, QualityBars } from './Bars';
import { CdfChart, ParetoChart } from './Charts';
import { SparsityChart } from './SparsityChart';
import { MetricTable } from './MetricTable';
import { picked, RunPicker } from './RunPicker';

export function CompareView() {
  const runs = picked.value;
  return (
    <div class="view compare-view" data-testid="compare-view">
      <RunPicker />
      <div class="compare-main">
        {runs.length === 0 ? (
          <section class="panel">
            <h2>Compare</h2>
            <p class="muted" data-testid="compare-empty">
              Tick runs on the left (from any session) to see them side by side: every metric, decode speed, the per-token latency distribution, GPU memory, quality, and
              speed against quality with its Pareto front.
            </p>
          </section>
        ) : (
          <>
            <section class="panel">
              <div class="row spread">
                <h2>
                  {runs.length} run{runs.length > 1 ? 's' : ''} side by side
                </h2>
                <span class="muted small">best value of each row in bold; ↑ higher is better, ↓ lower is better</span>
              </div>
              <MetricTable picked={runs} />
            </section>
            <div class="chart-grid" data-testid="compare-charts">
              <DecodeBars picked={runs} />
              <MemoryBars picked={runs} />
              <QualityBars picked={runs} />
              <CdfChart picked={runs} />
              <ParetoChart picked={runs} />
              <SparsityChart picked={runs} />
            </div>
          </>
        )}
      </div>
    </div>
  );
}
