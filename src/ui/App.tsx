// The lab's first screen: model + sampling on the left, prompt and streaming output in the middle, metrics,
// GPU memory and the device on the right. All state lives in ./state; all engine calls in ./actions.
import { DevicePanel } from './panels/DevicePanel';
import { ErrorBanner } from './panels/ErrorBanner';
import { MemoryPanel } from './panels/MemoryPanel';
import { MetricsPanel } from './panels/MetricsPanel';
import { ModelPanel } from './panels/ModelPanel';
import { PromptPanel } from './panels/PromptPanel';
import { SamplingPanel } from './panels/SamplingPanel';
import { model, phase, probe } from './state';

function Header() {
  const p = probe.value;
  const m = model.value;
  return (
    <header class="top">
      <h1>Efficiency Lab</h1>
      <span class="muted small">small Llama models on hand-written WebGPU kernels</span>
      <span class="spacer" />
      <span class="chip" data-testid="header-model">
        {m ? m.name : 'no model'}
      </span>
      <span class={`chip ${p?.isFallback ? 'warn' : ''}`} data-testid="header-adapter">
        {p ? `${p.vendor || 'unknown vendor'}${p.isFallback ? ' · fallback' : ''}` : phase.value === 'starting' ? 'probing…' : 'no adapter'}
      </span>
    </header>
  );
}

export function App() {
  return (
    <div class="app" data-testid="app" data-phase={phase.value}>
      <Header />
      <ErrorBanner />
      <main class="grid">
        <div class="col left">
          <ModelPanel />
          <SamplingPanel />
        </div>
        <div class="col mid">
          <PromptPanel />
        </div>
        <div class="col right">
          <MetricsPanel />
          <MemoryPanel />
          <DevicePanel />
        </div>
      </main>
    </div>
  );
}
