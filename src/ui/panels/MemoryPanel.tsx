// GPU memory by purpose, as the engine's buffer pool counts it.
import type { GpuBytes } from '../../engine/types';
import { fmtBytes } from '../format';
import { stats } from '../state';

const PURPOSES: [keyof GpuBytes, string][] = [
  ['weights', 'model weights'],
  ['kv', 'KV cache'],
  ['activations', 'activations'],
  ['staging', 'staging (readback)'],
  ['uniforms', 'uniforms'],
];

export function MemoryPanel() {
  const b = stats.value?.gpuBytes;
  const total = b ? PURPOSES.reduce((s, [k]) => s + (b[k] ?? 0), 0) : 0;
  return (
    <section class="panel" data-testid="memory-panel">
      <div class="row spread">
        <h2>GPU memory</h2>
        <span class="muted small">
          total <span data-testid="mem-total">{b ? fmtBytes(total) : '–'}</span>
        </span>
      </div>
      <table class="mem">
        <tbody>
          {PURPOSES.map(([k, label]) => {
            const v = b?.[k] ?? 0;
            return (
              <tr key={k}>
                <td>{label}</td>
                <td class="bar-cell">
                  <div class={`bar ${k}`} style={{ width: `${total ? (100 * v) / total : 0}%` }} />
                </td>
                <td class="num" data-testid={`mem-${k}`} data-bytes={v}>
                  {b ? fmtBytes(v) : '–'}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
