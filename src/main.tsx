// Entry point: render the lab and start the engine (probe, embedded models, ?model=<url>).
import { render } from 'preact';
import { start } from './ui/actions';
import { App } from './ui/App';
import './ui/styles.css';

render(<App />, document.getElementById('app')!);
void start();
