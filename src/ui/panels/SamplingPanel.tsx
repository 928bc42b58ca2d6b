// Sampling settings. Temperature 0 is greedy (argmax); top-k 0 and top-p 1 are off.
import { signal } from '@preact/signals';
import type { SamplingOptions } from '../../engine/types';
import { busy, patchSampling, sampling } from '../state';

interface Field {
  key: keyof SamplingOptions;
  label: string;
  min: number;
  max?: number;
  step: number;
  hint: string;
  int?: boolean;
}

const FIELDS: Field[] = [
  { key: 'temperature', label: 'temperature', min: 0, max: 5, step: 0.1, hint: '0 = greedy (argmax)' },
  { key: 'topK', label: 'top-k', min: 0, step: 1, int: true, hint: '0 = off' },
  { key: 'topP', label: 'top-p', min: 0, max: 1, step: 0.05, hint: '1 = off' },
  { key: 'seed', label: 'seed', min: 0, step: 1, int: true, hint: 'random stream seed' },
  { key: 'maxNewTokens', label: 'max new tokens', min: 1, step: 1, int: true, hint: 'generation length limit' },
];

/** The last rejected entry, shown under the fields (the run keeps using the previous valid value). */
const invalid = signal<string | null>(null);

const testId = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export function SamplingPanel() {
  const s = sampling.value;
  return (
    <section class="panel" data-testid="sampling-panel">
      <h2>Sampling</h2>
      <div class="fields">
        {FIELDS.map((f) => (
          <label key={f.key} title={f.hint}>
            <span>{f.label}</span>
            <input
              type="number"
              data-testid={testId(f.key)}
              min={f.min}
              max={f.max}
              step={f.step}
              value={s[f.key]}
              disabled={busy.value}
              onChange={(e) => {
                const v = Number((e.currentTarget as HTMLInputElement).value);
                if (!Number.isFinite(v) || v < f.min || (f.max != null && v > f.max)) {
                  const range = f.max != null ? `${f.min}..${f.max}` : `at least ${f.min}`;
                  invalid.value = `${f.label} must be ${range} (got ${(e.currentTarget as HTMLInputElement).value || 'nothing'}); keeping ${s[f.key]}`;
                  (e.currentTarget as HTMLInputElement).value = String(s[f.key]);
                  return;
                }
                invalid.value = null;
                patchSampling({ [f.key]: f.int ? Math.round(v) : v });
              }}
            />
          </label>
        ))}
      </div>
      {invalid.value && (
        <p class="error small" role="alert" data-testid="sampling-invalid">
          {invalid.value}
        </p>
      )}
      <p class="muted small">{s.temperature === 0 ? 'greedy: temperature 0 picks the most likely token' : 'sampling with the settings above'}</p>
    </section>
  );
}
