// Per-kernel GPU time of the last run (timestamp queries), as bars per kernel family. Profiling puts every
// dispatch in its own pass, which slows decode, so it is opt-in and its run's speed is not comparable.
import { signal } from '@preact/signals';
import { finalMetrics, probe } from '../state';

/** Generate with timestamp queries (read by actions.generate). */
export const profileKernels = signal(false);

export function KernelProfile() {
  const hasTs = probe.value?.features.includes('timestamp-query') ?? false;
  const m = finalMetrics.value;
  const ns = m?.kernelNs;
  const steps = Math.max(1, m?.kernel_steps ?? (m?.generatedTokens ?? 1) - 1);
  const rows = ns ? Object.entries(ns).sort((a, b) => b[1] - a[1]) : [];
  const total = rows.reduce((s, [, v]) => s + v, 0);
  return (
    <section class="panel" data-testid="kernel-profile">
      <div class="row spread">
        <h2>Kernel profile</h2>
        <label class="small">
          <input type="checkbox" data-testid="profile-toggle" disabled={!hasTs} checked={profileKernels.value}
            onChange={(e) => (profileKernels.value = (e.target as HTMLInputElement).checked)} /> profile next run
        </label>
      </div>
      {!hasTs ? (
        <p class="muted small">This adapter has no timestamp-query: only whole-step timing (ms/token) is available.</p>
      ) : !rows.length ? (
        <p class="muted small">Tick "profile next run" and generate: GPU time per kernel family per decode step. Profiling gives each dispatch its own pass (slower); browsers may quantise timestamps, so read sums, not single tiny kernels.</p>
      ) : (
        <table class="mem">
          <tbody>
            {rows.map(([k, v]) => (
              <tr key={k} data-testid={`kernel-${k}`}>
                <td>{k}</td>
                <td class="bar-cell">
                  <div class="bar weights" style={{ width: `${(100 * v) / total}%` }} />
                </td>
                <td class="num">{(v / steps / 1e6).toFixed(3)} ms · {Math.round((100 * v) / total)}%</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {rows.length > 0 && <p class="muted small">GPU time per decode step, averaged over {steps} timed steps.</p>}
    </section>
  );
}
