// The adapter: who made it, whether it is a fallback (CPU-emulated) one, features, missing features and what
// each costs, key limits, and the kernel variants the engine chose for it.
import { fmtBytes } from '../format';
import { probe, stats } from '../state';

const fmtLimit = (k: string, v: number) => (/Size$/.test(k) && v >= 1024 ? fmtBytes(v) : v.toLocaleString('en-US'));

export function DevicePanel() {
  const p = probe.value;
  const variants = stats.value?.variants ?? {};
  if (!p)
    return (
      <section class="panel" data-testid="device-panel">
        <h2>Device</h2>
        <p class="muted">No adapter yet.</p>
      </section>
    );
  return (
    <section class="panel" data-testid="device-panel">
      <h2>Device</h2>
      {p.isFallback ? (
        <p class="warn" data-testid="device-fallback">
          fallback (CPU-emulated) adapter: timings are not GPU timings
        </p>
      ) : (
        <p class="ok" data-testid="device-hardware">
          hardware adapter
        </p>
      )}
      <dl class="kv">
        <dt>vendor</dt>
        <dd data-testid="device-vendor">{p.vendor || '–'}</dd>
        <dt>architecture</dt>
        <dd data-testid="device-architecture">{p.architecture || '–'}</dd>
        <dt>description</dt>
        <dd data-testid="device-description">{p.description || p.device || '–'}</dd>
        <dt>features</dt>
        <dd class="features" data-testid="device-features">{p.features.length ? p.features.join(', ') : 'none'}</dd>
        <dt>missing</dt>
        <dd data-testid="device-missing">
          {p.missing.length === 0
            ? 'none'
            : p.missing.map((m) => (
                <div key={m.feature}>
                  <code>{m.feature}</code>: {m.effect}
                </div>
              ))}
        </dd>
      </dl>
      <h3>Limits</h3>
      <dl class="kv limits" data-testid="device-limits">
        {Object.entries(p.limits).map(([k, v]) => [<dt key={`${k}-k`}>{k}</dt>, <dd key={`${k}-v`}>{fmtLimit(k, v)}</dd>])}
      </dl>
      <h3>Kernel variants</h3>
      <dl class="kv" data-testid="device-variants">
        {Object.keys(variants).length === 0 ? (
          <dd class="muted">chosen when a model loads</dd>
        ) : (
          Object.entries(variants).map(([k, v]) => [<dt key={`${k}-k`}>{k}</dt>, <dd key={`${k}-v`}>{v}</dd>])
        )}
      </dl>
    </section>
  );
}
