// The lab's first screen: model + sampling on the left, prompt and streaming output in the middle, metrics,
// GPU memory and the device on the right. All state lives in ./state; all engine calls in ./actions.
import { DevicePanel } from './panels/DevicePanel';
import { ErrorBanner } from './panels/ErrorBanner';
import { KernelProfile } from './panels/KernelProfile';
import { MemoryPanel } from './panels/MemoryPanel';
import { MetricsPanel } from './panels/MetricsPanel';
import { ModelPanel } from './panels/ModelPanel';
import { PromptPanel } from './panels/PromptPanel';
import { SamplingPanel } from './panels/SamplingPanel';
import { CompareView } from './compare/CompareView';
import { Nav, view } from './sessions/nav';
import { SaveBanner, SessionPanel } from './sessions/SessionPanel';
import { SessionsView } from './sessions/SessionsView';
import { SideBySide } from './sidebyside/SideBySide';
import { TechniqueEffects } from './techniques/TokenOutput';
import { TechniquesPanel } from './techniques/TechniquesPanel';
import { model, phase, probe } from './state';

function Header() {
  const p = probe.value;
  const m = model.value;
  return (
    <header class="top">
      <h1>Efficiency Lab</h1>
      <span class="muted small">small language models on hand-written WebGPU kernels</span>
      <Nav />
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
      <SaveBanner />
      {/* the lab stays mounted (hidden) while another view shows, so its charts and inputs keep their state */}
      <main class="grid" hidden={view.value !== 'lab'}>
        <div class="col left">
          <ModelPanel />
          <SamplingPanel />
          <TechniquesPanel />
        </div>
        <div class="col mid">
          <PromptPanel />
          <TechniqueEffects />
          <SessionPanel />
        </div>
        <div class="col right">
          <MetricsPanel />
          <MemoryPanel />
          <KernelProfile />
          <DevicePanel />
        </div>
        <div class="col wide">
          <SideBySide />
        </div>
      </main>
      {view.value === 'sessions' && <SessionsView />}
      {view.value === 'compare' && <CompareView />}
    </div>
  );
}
