// The picked runs side by side: one column per run, one row per metric (every metric of the session format),
// with the configuration on top. The best value of a row is marked when the runs differ.
import type { Picked } from './data';
import { bestOf, METRIC_ROWS } from './data';
import { fmtNum } from '../format';
import { fmtTime, samplingSummary, techniqueSummary } from '../sessions/describe';

type Text = [label: string, get: (p: Picked) => string];

const adapter = (p: Picked) => {
  const a = p.session.environment.adapter;
  if (!a) return 'no WebGPU';
  return `${a.description || a.device || a.vendor || 'unknown'}${a.is_fallback ? ' (fallback)' : ''}`;
};

const CONFIG_ROWS: Text[] = [
  ['session', (p) => p.session.name],
  ['started', (p) => fmtTime(p.run.started_at)],
  ['engine', (p) => p.run.engine],
  ['model', (p) => p.run.model.name],
  ['techniques', (p) => techniqueSummary(p.run.config)],
  ['sampling', (p) => samplingSummary(p.run.config) || '–'],
  ['stopped by', (p) => p.run.metrics.stopped_by ?? '–'],
  ['bound', (p) => p.run.metrics.bound ?? '–'],
  ['adapter', adapter],
];

export function MetricTable({ picked }: { picked: Picked[] }) {
  const runs = picked.map((p) => p.run);
  return (
    <div class="table-scroll">
      <table class="compare" data-testid="compare-table">
        <thead>
          <tr>
            <th />
            {picked.map((p) => (
              <th key={p.key} data-testid="compare-col" style={{ borderTopColor: p.color }} title={p.name}>
                <span class="swatch" style={{ background: p.color }} />
                {p.name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {CONFIG_ROWS.map(([label, get]) => (
            <tr key={label} class="config">
              <th>{label}</th>
              {picked.map((p) => (
                <td key={p.key}>{get(p)}</td>
              ))}
            </tr>
          ))}
          {METRIC_ROWS.map((row) => {
            const best = bestOf(row, runs);
            const vals = runs.map((r) => row.get(r) ?? null);
            const empty = vals.every((v) => v == null);
            return (
              <tr key={row.id} class={empty ? 'empty' : ''} data-testid={`row-${row.id}`}>
                <th>
                  {row.label}
                  {row.unit && <span class="muted"> ({row.unit})</span>}
                  {row.better && <span class="muted small" title={`${row.better === 'high' ? 'higher' : 'lower'} is better`}>{row.better === 'high' ? ' ↑' : ' ↓'}</span>}
                </th>
                {vals.map((v, i) => (
                  <td key={picked[i]!.key} class={`num${best.has(i) ? ' best' : ''}`}>
                    {v == null ? '–' : (row.fmt ?? fmtNum)(v)}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
