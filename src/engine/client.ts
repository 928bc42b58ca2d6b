// The UI's handle on the engine: the worker (src/engine/worker.ts) behind a comlink proxy, presented as the same
// Engine interface. Errors that cross the boundary come back as EngineError with the engine's typed name
// ("SafetensorsError", "DeviceLostError", ...). If the worker dies (an 'error' event: a failed module load or an
// uncaught exception), every pending call is rejected with a WorkerCrashedError and a fresh worker is started; the
// model must then be loaded again.
// A worker can also stop without any event (it closed itself, or was killed): no message ever comes back. Each
// worker gets a unique name; a worker that holds a Web Lock of that name for its lifetime (one line in worker.ts:
// `navigator.locks.request(self.name, () => new Promise(() => {}))`) lets the client notice: the client queues for
// the same lock, which it is granted exactly when the worker is gone. Workers without that lock are not watched.
// A worker can also HANG (a busy loop, a synchronous step that never ends): it holds its lock and answers nothing.
// While a call is pending the client pings the worker every `pingMs`; a token event, a ping reply or any answer
// counts as a sign of life. After `unresponsiveMs` without one, `onUnresponsive` listeners hear the silence (the
// UI offers Restart); after `autoRestartMs` (0 = never) the client restarts the worker itself: pending calls reject
// with EngineHungError. Pages opened with the debug flag (EngineClient option `debug`, set by `?debug`) get a
// worker with test-only calls (`debugHang`, `debugLoseDevice`); other workers do not have them at all. The
// watchdog itself is src/engine/watchdog.ts (its options and `watchdogFromQuery` are re-exported here).

import * as Comlink from 'comlink';
import type { AdapterProbe } from '../gpu/device';
import { Watchdog, type WatchdogOptions } from './watchdog';
import type {
  ConfigureResult,
  Engine,
  EngineErrorInfo,
  EngineStats,
  EstimateRequest,
  GenerateRequest,
  GenerateResult,
  LoadProgress,
  MemoryBudget,
  MemoryVerdict,
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

/** What the worker exposes: the Engine, a ping, and (debug workers only) the test hooks. */
export interface WorkerApi extends Engine {
  /** Answers at once (the worker's clock, ms): a sign of life. */
  ping(): number;
  /** Debug workers only (others reject the call): busy-loop for `ms` (a hung worker). */
  debugHang(ms: number): void;
  /** Debug workers only (others reject the call): destroy the GPU device (a device loss). */
  debugLoseDevice(): void;
}

/** A worker name ending in this gets the test hooks (src/engine/worker.ts). */
export const DEBUG_WORKER_SUFFIX = '-debug';

export { DEFAULT_WATCHDOG, watchdogFromQuery, type WatchdogOptions } from './watchdog';

export interface EngineClientOptions {
  /** Start workers with the test hooks (see the header). */
  debug?: boolean;
  watchdog?: Partial<WatchdogOptions>;
}

const defaultWorker: WorkerFactory = (name) => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name });

let workerSeq = 0;

/** More restarts than this within 30 s and the client gives up (see `restart`). */
const MAX_RESTARTS_PER_30S = 3;

export class EngineClient implements Engine {
  private worker!: Worker;
  private remote!: Comlink.Remote<WorkerApi>;
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
  private readonly debug: boolean;
  private readonly dog: Watchdog;

  constructor(
    private readonly makeWorker: WorkerFactory = defaultWorker,
    opts: EngineClientOptions = {},
  ) {
    this.debug = opts.debug ?? false;
    this.dog = new Watchdog(opts.watchdog, {
      pending: () => this.pending.size,
      ping: () => this.remote.ping(),
      restart: () => this.restartHung(true),
    });
    this.start();
  }

  /** Told `silentMs` when the worker stops showing signs of life during a call, and null when it answers again
   *  (or was restarted). */
  onUnresponsive(fn: (silentMs: number | null) => void): () => void {
    return this.dog.onUnresponsive(fn);
  }

  /** Whether the worker is silent past `unresponsiveMs` during a call right now. */
  get unresponsive(): boolean {
    return this.dog.unresponsive;
  }

  /** The hang watchdog's settings (may be changed at any time). */
  get watchdog(): WatchdogOptions {
    return this.dog.options;
  }

  /** Called after the worker died and was replaced (the model is gone: load it again). */
  onRestart(fn: (why: EngineErrorInfo) => void): () => void {
    this.restartListeners.add(fn);
    return () => this.restartListeners.delete(fn);
  }

  init(): Promise<AdapterProbe> {
    return this.call((r) => r.init());
  }

  /** `onProgress` crosses as a comlink proxy made for this call only (a restarted worker never sees an old one). */
  load(source: ModelSource, onProgress?: (p: LoadProgress) => void, quant?: TechniqueSettings['quant']): Promise<ModelInfo> {
    if (!onProgress) return this.call((r) => r.load(source, undefined, quant));
    const cb = Comlink.proxy((p: LoadProgress) => {
      this.dog.alive();
      try {
        onProgress(p);
      } catch (e) {
        console.error('onProgress handler threw', e);
      }
    });
    return this.call((r) => r.load(source, cb, quant));
  }

  cancelLoad(): Promise<void> {
    return this.call((r) => r.cancelLoad());
  }

  estimate(req: EstimateRequest): Promise<MemoryVerdict> {
    return this.call((r) => r.estimate(req));
  }

  setMemoryBudget(bytes: number | null): Promise<MemoryBudget> {
    return this.call((r) => r.setMemoryBudget(bytes));
  }

  generate(req: GenerateRequest, onToken: (ev: TokenEvent) => void): Promise<GenerateResult> {
    const cb = Comlink.proxy((ev: TokenEvent) => {
      this.dog.alive();
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

  /** Debug workers only (see the header): make the worker busy-loop for `ms`. Never settles while it hangs. */
  debugHang(ms: number): Promise<void> {
    return this.call((r) => r.debugHang(ms));
  }

  /** Debug workers only: destroy the worker's GPU device (the engine reports a DeviceLostError and recovers). */
  debugLoseDevice(): Promise<void> {
    return this.call((r) => r.debugLoseDevice());
  }

  /** Restart a worker that does not respond (the UI's Restart button, or the watchdog): pending calls reject with
   *  EngineHungError. */
  restartHung(auto = false): void {
    const s = Math.round(this.dog.silentMs / 1000);
    this.restart({
      name: 'EngineHungError',
      message: `The engine did not respond for ${s} s ${auto ? 'and was restarted automatically' : 'and was restarted at your request'}; the interrupted call was abandoned.`,
    });
  }

  /** Replace the worker now (e.g. a user's "restart engine"); pending calls reject with `why`. */
  restart(why: EngineErrorInfo = { name: 'WorkerRestarted', message: 'The engine worker was restarted: load a model again.' }): void {
    this.restarts++;
    const err = new EngineError(why.name, why.message);
    for (const p of this.pending) p.reject(err);
    this.pending.clear();
    this.stop();
    const t = Date.now();
    this.restartTimes = [...this.restartTimes.filter((x) => t - x < 30_000), t];
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
    const worker = this.makeWorker(this.debug ? name + DEBUG_WORKER_SUFFIX : name);
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
    this.remote = Comlink.wrap<WorkerApi>(worker);
    this.life = { name: this.debug ? name + DEBUG_WORKER_SUFFIX : name, unwatch: new AbortController(), checked: false };
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
    this.dog.reset();
    this.life.unwatch.abort();
    try {
      this.remote[Comlink.releaseProxy]();
    } catch {
      /* already released */
    }
    this.worker.terminate();
  }

  /** Run one remote call; it settles when the worker answers or when the worker dies (never hangs on a dead one). */
  private call<T>(fn: (r: Comlink.Remote<WorkerApi>) => Promise<T>): Promise<T> {
    if (this.broken) return Promise.reject(this.broken);
    const life = this.life;
    return new Promise<T>((resolve, reject) => {
      const p: Pending = { reject };
      this.dog.callStarted();
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
        if (life !== this.life) return;
        this.dog.alive();
        if (this.pending.size <= 1) this.dog.stop();
        if (life.checked) return;
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
