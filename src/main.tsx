// Entry point: render the lab and start the engine (probe, embedded models, ?model=<url>).
import { render } from 'preact';
import { engine, start } from './ui/actions';
import { App } from './ui/App';
import './ui/styles.css';

// Test hook: with ?debug the engine client is reachable as window.__lab.engine (tests/e2e/hardening.spec.ts
// drives technique switches and generations through it). Nothing else reads it.
if (new URLSearchParams(location.search).has('debug')) (window as unknown as { __lab: unknown }).__lab = { engine };

render(<App />, document.getElementById('app')!);
void start();
