// The worker entry: the real engine, exposed over comlink. The UI talks to it through src/engine/client.ts.
// Every worker answers `ping` (the client's hang watchdog). A worker whose name ends in DEBUG_WORKER_SUFFIX
// (the client's `debug` option, which only a page opened with `?debug` sets) also has the test hooks
// `debugHang(ms)` and `debugLoseDevice()`; other workers do not have them at all, and nothing a model or a
// session file contains can set a worker's name.
import * as Comlink from 'comlink';
import { DEBUG_WORKER_SUFFIX, type WorkerApi } from './client';
import { LabEngine } from './engine';

class WorkerEngine extends LabEngine implements Pick<WorkerApi, 'ping'> {
  ping(): number {
    return performance.timeOrigin + performance.now();
  }
}

class DebugWorkerEngine extends WorkerEngine implements WorkerApi {
  /** A hung worker: a busy loop that answers nothing (not even pings) for `ms`. */
  debugHang(ms: number): void {
    const end = performance.now() + Math.min(Math.max(0, ms), 10 * 60_000);
    while (performance.now() < end) {
      /* hang */
    }
  }

  /** A device loss, as a driver reset would cause it. */
  debugLoseDevice(): void {
    this.internals().gpu?.device.destroy();
  }
}

// Hold a lock named after this worker for its whole life: the client waits on the same lock and so learns at
// once when the worker is gone, even when it died without an error event.
void navigator.locks?.request(self.name, () => new Promise<never>(() => {}));
Comlink.expose(self.name.endsWith(DEBUG_WORKER_SUFFIX) ? new DebugWorkerEngine() : new WorkerEngine());
