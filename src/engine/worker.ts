// The worker entry: the real engine, exposed over comlink. The UI talks to it through src/engine/client.ts.
import * as Comlink from 'comlink';
import { LabEngine } from './engine';

// Hold a lock named after this worker for its whole life: the client waits on the same lock and so learns at
// once when the worker is gone, even when it died without an error event.
void navigator.locks?.request(self.name, () => new Promise<never>(() => {}));
Comlink.expose(new LabEngine());
