// The engine client's hang watchdog (used by src/engine/client.ts). A worker stuck in a busy loop or an endless
// synchronous step holds its liveness lock and answers nothing, so neither an 'error' event nor the lock reveals it.
// While calls are pending the watchdog pings the worker every `pingMs`; a ping reply, a streamed token, a progress
// event or any answer is a sign of life (`alive()`). After `unresponsiveMs` without one, listeners hear the silence
// (the UI offers Restart), and a sign of life clears it; after `autoRestartMs` (0 = never) it asks the client to
// restart the worker. Times are performance.now() ms; the timer only runs while a call is pending.

/** When the client decides a worker hangs (ms). */
export interface WatchdogOptions {
  /** Ping period while a call is pending. */
  pingMs: number;
  /** No sign of life for this long: `onUnresponsive` listeners are told. */
  unresponsiveMs: number;
  /** No sign of life for this long: the worker is restarted (EngineHungError). 0 = never. */
  autoRestartMs: number;
}

export const DEFAULT_WATCHDOG: WatchdogOptions = { pingMs: 2000, unresponsiveMs: 8000, autoRestartMs: 120_000 };

/** Watchdog settings from a page's query (`?hangNotice=<s>&hangRestart=<s>`, seconds; hangRestart=0: never). */
export function watchdogFromQuery(q: URLSearchParams): WatchdogOptions {
  const sec = (k: string, dflt: number) => {
    const v = Number(q.get(k));
    return q.has(k) && Number.isFinite(v) && v >= 0 ? v * 1000 : dflt;
  };
  const unresponsiveMs = Math.max(1000, sec('hangNotice', DEFAULT_WATCHDOG.unresponsiveMs));
  return { pingMs: Math.min(DEFAULT_WATCHDOG.pingMs, unresponsiveMs / 2), unresponsiveMs, autoRestartMs: sec('hangRestart', DEFAULT_WATCHDOG.autoRestartMs) };
}

export interface WatchdogHooks {
  /** How many calls are pending now. */
  pending(): number;
  /** Ping the current worker (settles when it answers; may never settle). */
  ping(): Promise<unknown>;
  /** No sign of life for autoRestartMs: replace the worker. */
  restart(): void;
}

const now = () => performance.now();

export class Watchdog {
  /** The settings (may be changed at any time). */
  options: WatchdogOptions;
  private lastSign = 0;
  private lastPing = 0;
  private pingOut = false;
  private ticker: ReturnType<typeof setInterval> | null = null;
  /** Silence (ms) when listeners were told, or null (responsive). */
  private silentSince: number | null = null;
  /** Bumped by reset(): a ping reply from a replaced worker is ignored. */
  private epoch = 0;
  private listeners = new Set<(silentMs: number | null) => void>();

  constructor(
    options: Partial<WatchdogOptions> | undefined,
    private readonly hooks: WatchdogHooks,
  ) {
    this.options = { ...DEFAULT_WATCHDOG, ...options };
  }

  /** Told `silentMs` when the worker goes silent during a call, and null when it answers again (or is replaced). */
  onUnresponsive(fn: (silentMs: number | null) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get unresponsive(): boolean {
    return this.silentSince !== null;
  }

  /** Ms since the last sign of life. */
  get silentMs(): number {
    return now() - this.lastSign;
  }

  /** A sign of life from the current worker. */
  alive(): void {
    this.lastSign = now();
    this.setSilent(null);
  }

  /** A call is about to be sent: start watching (if not already). */
  callStarted(): void {
    if (this.ticker) return;
    this.lastSign = this.lastPing = now();
    this.ticker = setInterval(() => this.tick(), Math.max(50, Math.min(500, this.options.pingMs / 2)));
  }

  /** The worker was replaced or stopped: stop watching, forget the silence. */
  reset(): void {
    this.stop();
    this.epoch++;
    this.setSilent(null);
  }

  /** No call pending any more. */
  stop(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    this.pingOut = false;
  }

  private setSilent(ms: number | null): void {
    if ((ms === null) === (this.silentSince === null)) return;
    this.silentSince = ms;
    for (const fn of this.listeners) fn(ms);
  }

  private tick(): void {
    if (this.hooks.pending() === 0) return this.stop();
    const t = now();
    const w = this.options;
    if (!this.pingOut && t - this.lastPing >= w.pingMs) {
      const epoch = this.epoch;
      this.pingOut = true;
      this.lastPing = t;
      this.hooks.ping().then(
        () => {
          if (epoch !== this.epoch) return;
          this.pingOut = false;
          this.alive();
        },
        () => {
          if (epoch === this.epoch) this.pingOut = false;
        },
      );
    }
    const silent = t - this.lastSign;
    if (w.autoRestartMs > 0 && silent >= w.autoRestartMs) return this.hooks.restart();
    if (silent >= w.unresponsiveMs) this.setSilent(silent);
  }
}
