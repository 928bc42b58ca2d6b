// Live metrics: time to first token, prefill and decode throughput, ms/token p50/p95, and the latency chart.
import type { RunMetrics } from '../../engine/types';
import { fmtBytes, fmtNum, shownMetrics } from '../format';
import { finalMetrics, phase, promptIds, tokenTimes } from '../state';
import { LatencyChart } from './LatencyChart';

export function MetricsPanel() {
  const m = shownMetrics(tokenTimes.value, promptIds.value.length, finalMetrics.value);
  const rows: [string, string, string, string][] = [
    ['metric-ttft', 'time to first token', fmtNum(m.ttft_ms), 'ms'],
    ['metric-prefill', 'prefill', fmtNum(m.prefill_tok_s), 'tok/s'],
    ['metric-decode', 'decode', fmtNum(m.decode_tok_s), 'tok/s'],
    ['metric-p50', 'ms/token p50', fmtNum(m.ms_per_token_p50), 'ms'],
    ['metric-p95', 'ms/token p95', fmtNum(m.ms_per_token_p95), 'ms'],
    ['metric-tokens', 'tokens generated', String(m.generatedTokens), ''],
  ];
  const fin = finalMetrics.value;
  return (
    <section class="panel" data-testid="metrics-panel">
      <div class="row spread">
        <h2>Metrics</h2>
        <span class="muted small" data-testid="metrics-state">
          {fin ? `final · stopped by ${fin.stoppedBy}` : phase.value === 'generating' ? 'live (from the stream)' : ''}
        </span>
      </div>
      <div class="metrics">
        {rows.map(([id, label, value, unit]) => (
          <div class="metric" key={id}>
            <span class="label">{label}</span>
            <span class="value" data-testid={id}>
              {value}
            </span>
            <span class="unit">{unit}</span>
          </div>
        ))}
      </div>
      {fin && fin.generatedTokens > 1 && <Roofline m={fin} />}
      <LatencyChart />
    </section>
  );
}

const BOUND: Record<RunMetrics['bound'], string> = {
  bandwidth: 'memory bandwidth',
  dispatch: 'per-dispatch overhead',
  latency: 'latency (neither bandwidth nor dispatch count)',
};

/** Decode against the memory roofline: bytes read per token, achieved vs the adapter's copy bandwidth. */
function Roofline({ m }: { m: RunMetrics }) {
  const pct = Number.isFinite(m.roofline_fraction) ? `${fmtNum(100 * m.roofline_fraction)}%` : '–';
  return (
    <p class="roofline small" data-testid="metric-roofline">
      decode reads <b>{fmtBytes(m.bytes_per_token)}</b>/token · achieved <b>{fmtNum(m.achieved_gbps)}</b> GB/s of{' '}
      {fmtNum(m.copy_gbps)} GB/s copy bandwidth (<b>{pct}</b>) · {fmtNum(m.dispatches_per_token)} dispatches/token · bound by{' '}
      <b data-testid="metric-bound">{BOUND[m.bound] ?? m.bound}</b>
    </p>
  );
}
