// The UI's handle on the engine: the worker (src/engine/worker.ts) behind a comlink proxy, presented as the same
// Engine interface. Errors that cross the boundary come back as EngineError with the engine's typed name
// ("SafetensorsError", "DeviceLostError", ...). If the worker dies (an 'error' event: a failed module load or an
// uncaught exception), every pending call is rejected with a WorkerCrashedError and a fresh worker is started; the
// model must then be loaded again.
// A worker can also stop without any event (it closed itself, or was killed): no message ever comes back. Each
// worker gets a unique name; a worker that holds a Web Lock of that name for its lifetime (one line in worker.ts:
// `navigator.locks.request(self.name, () => new Promise(() => {}))`) lets the client notice: the client queues for
// the same lock, which it is granted exactly when the worker is gone. Workers without that lock are not watched.

import * as Comlink from 'comlink';
import type { AdapterProbe } from '../gpu/device';
import type {
  ConfigureResult,
  Engine,
  EngineErrorInfo,
  EngineStats,
  GenerateRequest,
  GenerateResult,
  ModelInfo,
  ModelSource,
  QualityReport,
  TechniqueSettings,
  TokenEvent,
} from './types';

/** An engine error on the UI side: `name` is the engine's error class name, `message` its message. */
export class EngineError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
  get info(): EngineErrorInfo {
    return { name: this.name, message: this.message };
  }
}

/** Anything thrown → { name, message } the UI can show. */
export function errorInfo(e: unknown): EngineErrorInfo {
  if (e && typeof e === 'object' && 'message' in e) {
    const o = e as { name?: unknown; message?: unknown };
    return { name: typeof o.name === 'string' && o.name ? o.name : 'Error', message: String(o.message) };
  }
  return { name: 'Error', message: String(e) };
}

function asEngineError(e: unknown): EngineError {
  if (e instanceof EngineError) return e;
  const { name, message } = errorInfo(e);
  return new EngineError(name, message);
}

interface Pending {
  reject: (e: EngineError) => void;
}

/** Makes a worker; `name` is unique per worker (the name of its liveness lock, see the header). */
export type WorkerFactory = (name: string) => Worker;

const defaultWorker: WorkerFactory = (name) => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name });

let workerSeq = 0;

/** More restarts than this within 30 s and the client gives up (see `restart`). */
const MAX_RESTARTS_PER_30S = 3;

export class EngineClient implements Engine {
  private worker!: Worker;
  private remote!: Comlink.Remote<Engine>;
  /** The current worker's name, liveness watch (aborted when the client stops the worker itself), and whether
   *  the watch was set up (after the worker's first answer). */
  private life!: { name: string; unwatch: AbortController; checked: boolean };
  private pending = new Set<Pending>();
  private restartListeners = new Set<(why: EngineErrorInfo) => void>();
  private restartTimes: number[] = [];
  /** Set when the worker keeps dying (e.g. its script fails to load): calls then fail at once with this. */
  private broken: EngineError | null = null;
  /** How many times the worker was restarted after dying. */
  restarts = 0;

  constructor(private readonly makeWorker: WorkerFactory = defaultWorker) {
    this.start();
  }

  /** Called after the worker died and was replaced (the model is gone: load it again). */
  onRestart(fn: (why: EngineErrorInfo) => void): () => void {
    this.restartListeners.add(fn);
    return () => this.restartListeners.delete(fn);
  }

  init(): Promise<AdapterProbe> {
    return this.call((r) => r.init());
  }

  load(source: ModelSource): Promise<ModelInfo> {
    return this.call((r) => r.load(source));
  }

  generate(req: GenerateRequest, onToken: (ev: TokenEvent) => void): Promise<GenerateResult> {
    const cb = Comlink.proxy((ev: TokenEvent) => {
      try {
        onToken(ev);
      } catch (e) {
        console.error('onToken handler threw', e);
      }
    });
    return this.call((r) => r.generate(req, cb));
  }

  abort(): Promise<void> {
    return this.call((r) => r.abort());
  }

  reset(): Promise<void> {
    return this.call((r) => r.reset());
  }

  stats(): Promise<EngineStats> {
    return this.call((r) => r.stats());
  }

  configure(settings: TechniqueSettings): Promise<ConfigureResult> {
    return this.call((r) => r.configure(settings));
  }

  evaluate(opts: { text?: string; ids?: number[]; maxTokens?: number }): Promise<QualityReport> {
    return this.call((r) => r.evaluate(opts));
  }

  /** Replace the worker now (e.g. a user's "restart engine"); pending calls reject with `why`. */
  restart(why: EngineErrorInfo = { name: 'WorkerRestarted', message: 'The engine worker was restarted: load a model again.' }): void {
    this.restarts++;
    const err = new EngineError(why.name, why.message);
    for (const p of this.pending) p.reject(err);
    this.pending.clear();
    this.stop();
    const now = Date.now();
    this.restartTimes = [...this.restartTimes.filter((t) => now - t < 30_000), now];
    if (this.restartTimes.length > MAX_RESTARTS_PER_30S) {
      // Dying over and over (a worker script that fails to load): stop trying rather than loop.
      this.broken = new EngineError(why.name, `${why.message.replace(/ It was restarted: load a model again\.$/, '')} The worker keeps failing, so it was not restarted again: reload the page.`);
      for (const fn of this.restartListeners) fn(this.broken.info);
      return;
    }
    this.start();
    for (const fn of this.restartListeners) fn(why);
  }

  /** Terminate the worker for good. */
  dispose(): void {
    const err = new EngineError('WorkerStopped', 'The engine worker was shut down.');
    for (const p of this.pending) p.reject(err);
    this.pending.clear();
    this.stop();
  }

  private start(): void {
    const name = `lab-engine-${++workerSeq}-${Math.random().toString(36).slice(2, 10)}`;
    const worker = this.makeWorker(name);
    worker.addEventListener('error', (ev) => {
      ev.preventDefault();
      if (worker !== this.worker) return; // an old worker's last words
      const detail = ev.message || 'the worker script failed to load or threw an uncaught exception';
      this.restart({ name: 'WorkerCrashedError', message: `The engine worker died (${detail}). It was restarted: load a model again.` });
    });
    worker.addEventListener('messageerror', () => {
      if (worker !== this.worker) return;
      this.restart({ name: 'WorkerCrashedError', message: 'A message from the engine worker could not be deserialized. The worker was restarted: load a model again.' });
    });
    this.worker = worker;
    this.remote = Comlink.wrap<Engine>(worker);
    this.life = { name, unwatch: new AbortController(), checked: false };
  }

  /** After the worker's first answer: if it holds its liveness lock, queue for the lock (granted when it is gone). */
  private async watch(life: EngineClient['life']): Promise<void> {
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
    const { signal } = life.unwatch;
    if (!locks) return;
    try {
      const held = (await locks.query()).held ?? [];
      if (!held.some((l) => l.name === life.name) || signal.aborted) return; // a worker without the lock: not watched
      await locks.request(life.name, { signal }, () => undefined);
    } catch {
      return; // aborted: the client stopped this worker itself
    }
    if (life !== this.life || signal.aborted) return;
    this.restart({
      name: 'WorkerCrashedError',
      message: 'The engine worker stopped without reporting an error (it was closed or killed). It was restarted: load a model again.',
    });
  }

  private stop(): void {
    this.life.unwatch.abort();
    try {
      this.remote[Comlink.releaseProxy]();
    } catch {
      /* already released */
    }
    this.worker.terminate();
  }

  /** Run one remote call; it settles when the worker answers or when the worker dies (never hangs on a dead one). */
  private call<T>(fn: (r: Comlink.Remote<Engine>) => Promise<T>): Promise<T> {
    if (this.broken) return Promise.reject(this.broken);
    const life = this.life;
    return new Promise<T>((resolve, reject) => {
      const p: Pending = { reject };
      this.pending.add(p);
      let promise: Promise<T>;
      try {
        promise = fn(this.remote);
      } catch (e) {
        this.pending.delete(p);
        reject(asEngineError(e));
        return;
      }
      const answered = () => {
        if (life.checked || life !== this.life) return;
        life.checked = true; // the worker's script ran: its liveness lock (if it takes one) is held by now
        void this.watch(life);
      };
      promise.then(
        (v) => {
          answered();
          if (this.pending.delete(p)) resolve(v);
        },
        (e) => {
          answered();
          if (this.pending.delete(p)) reject(asEngineError(e));
        },
      );
    });
  }
}
