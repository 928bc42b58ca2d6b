// GPU memory by purpose, as the engine's buffer pool counts it (actual), beside the memory plan's estimate
// (src/engine/memory-plan.ts: weights, KV cache, the decode activation set; computed from the config before the
// load allocated anything), the budget the plan is checked against (changeable here), and the weights that were
// split into row chunks because they exceed the adapter's per-binding limit.
import { useState } from 'preact/hooks';
import type { GpuBytes } from '../../engine/types';
import { engine, refreshStats } from '../actions';
import { fmtBytes } from '../format';
import { error, stats } from '../state';

const PURPOSES: [keyof GpuBytes, string][] = [
  ['weights', 'model weights'],
  ['kv', 'KV cache'],
  ['activations', 'activations'],
  ['staging', 'staging (readback)'],
  ['uniforms', 'uniforms'],
];

const MiB = 1024 * 1024;

async function setBudget(bytes: number | null): Promise<void> {
  try {
    await engine.setMemoryBudget(bytes);
    await refreshStats();
  } catch (e) {
    error.value = { name: (e as Error).name, message: (e as Error).message };
  }
}

export function MemoryPanel() {
  const b = stats.value?.gpuBytes;
  const mem = stats.value?.memory;
  const est = mem?.estimate ?? null;
  const planned: Partial<Record<keyof GpuBytes, number>> = est ? { weights: est.weights.total, kv: est.kv, activations: est.activations.decode } : {};
  const total = b ? PURPOSES.reduce((s, [k]) => s + (b[k] ?? 0), 0) : 0;
  const [draft, setDraft] = useState('');
  return (
    <section class="panel" data-testid="memory-panel">
      <div class="row spread">
        <h2>GPU memory</h2>
        <span class="muted small">
          total <span data-testid="mem-total">{b ? fmtBytes(total) : '–'}</span>
        </span>
      </div>
      <table class="mem">
        <thead>
          <tr class="muted small">
            <td />
            <td />
            <td class="num">actual</td>
            <td class="num" title="the memory plan, computed from the config before anything was allocated">estimated</td>
          </tr>
        </thead>
        <tbody>
          {PURPOSES.map(([k, label]) => {
            const v = b?.[k] ?? 0;
            const e = planned[k];
            return (
              <tr key={k}>
                <td>{label}</td>
                <td class="bar-cell">
                  <div class={`bar ${k}`} style={{ width: `${total ? (100 * v) / total : 0}%` }} />
                </td>
                <td class="num" data-testid={`mem-${k}`} data-bytes={v}>
                  {b ? fmtBytes(v) : '–'}
                </td>
                <td class="num muted" data-testid={`mem-est-${k}`} data-bytes={e ?? ''}>
                  {e !== undefined ? fmtBytes(e) : '–'}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {est && (
        <p class="muted small" data-testid="mem-plan">
          Plan at {est.quant.precision}, {est.ctx}-token context: {fmtBytes(est.total)} at peak (a {est.promptTokens}-token prefill adds{' '}
          {fmtBytes(est.activations.prefill + est.activations.loop)} of activations).{' '}
          {est.split.length
            ? `${est.split.length} weight tensor${est.split.length > 1 ? 's' : ''} split into row chunks (per-binding limit ${fmtBytes(est.bindingLimit)}; ${est.split
                .slice(0, 3)
                .map((s) => `${s.name}: ${s.chunks}`)
                .join(', ')}${est.split.length > 3 ? ', …' : ''}).`
            : `Largest tensor ${fmtBytes(est.largest.bytes)}: within the per-binding limit.`}
        </p>
      )}
      {mem && (
        <div class="row small" data-testid="mem-budget">
          <span>
            budget <strong data-testid="mem-budget-bytes" data-bytes={mem.budget.bytes}>{fmtBytes(mem.budget.bytes)}</strong>{' '}
            <span class="muted">({mem.budget.note})</span>
          </span>
          <input
            type="number"
            min="1"
            placeholder="MiB"
            aria-label="memory budget in MiB"
            data-testid="mem-budget-input"
            value={draft}
            onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
            style={{ width: '6em' }}
          />
          <button type="button" disabled={!(Number(draft) > 0)} onClick={() => void setBudget(Number(draft) * MiB)}>
            set
          </button>
          <button type="button" disabled={mem.budget.source !== 'user'} onClick={() => void setBudget(null)}>
            default
          </button>
        </div>
      )}
    </section>
  );
}
