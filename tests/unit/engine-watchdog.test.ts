// The client's hang watchdog (src/engine/client.ts) against a stand-in worker on a MessageChannel: the real
// EngineClient and comlink, an engine object that streams tokens and then stops answering anything (pings too),
// like a worker stuck in a busy loop. Streaming tokens count as signs of life; silence past unresponsiveMs is
// reported; past autoRestartMs the worker is replaced and the pending call rejects with EngineHungError.
import * as Comlink from 'comlink';
import { afterEach, describe, expect, it } from 'vitest';
import { DEBUG_WORKER_SUFFIX, EngineClient, watchdogFromQuery } from '../../src/engine/client';
import type { GenerateRequest, TokenEvent } from '../../src/engine/types';

const never = <T>() => new Promise<T>(() => {});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Fake {
  names: string[];
  /** Worker i stops answering (pings included) after `tokens` tokens of its generate(). */
  hangAfter: (number | null)[];
  terminated: number;
  /** Pings are never answered (only tokens show life). */
  mutePings?: boolean;
}

function factory(f: Fake) {
  return (name: string): Worker => {
    const i = f.names.push(name) - 1;
    const { port1, port2 } = new MessageChannel();
    let hung = false;
    const impl = {
      ping: () => (hung || f.mutePings ? never<number>() : 1),
      stats: () => (hung ? never() : { busy: false }),
      async generate(_req: GenerateRequest, cb: (ev: TokenEvent) => void) {
        for (let k = 0; k < 12; k++) {
          if (f.hangAfter[i] !== null && k >= f.hangAfter[i]!) {
            hung = true;
            return never();
          }
          await sleep(40); // slower than a ping period: only the tokens keep the worker "alive"
          cb({ id: k, text: '', textSoFar: '', index: k, tMs: 0 });
        }
        return { outputIds: [] };
      },
    };
    Comlink.expose(impl, port2);
    return Object.assign(port1, {
      terminate: () => {
        f.terminated++;
        port1.close();
        port2.close();
      },
      onerror: null,
    }) as unknown as Worker;
  };
}

let client: EngineClient | null = null;
afterEach(() => client?.dispose());

describe('EngineClient hang watchdog', () => {
  it('streaming tokens keep a worker alive even when its pings go unanswered', async () => {
    const f: Fake = { names: [], hangAfter: [null], terminated: 0, mutePings: true };
    client = new EngineClient(factory(f), { watchdog: { pingMs: 20, unresponsiveMs: 150, autoRestartMs: 400 } });
    const silent: (number | null)[] = [];
    client.onUnresponsive((ms) => silent.push(ms));
    const tokens: number[] = [];
    await client.generate({ prompt: [1], sampling: { temperature: 0, topK: 0, topP: 1, seed: 1, maxNewTokens: 12 } }, (ev) => tokens.push(ev.id));
    await expect.poll(() => tokens.length).toBe(12); // token events may trail the result
    expect(silent).toEqual([]); // 12 × 40 ms > unresponsiveMs, but every token was a sign of life
    expect(f.names.length).toBe(1);
  });

  it('a worker that goes silent: reported after unresponsiveMs, restarted after autoRestartMs, the call rejects with EngineHungError', async () => {
    const f: Fake = { names: [], hangAfter: [3, null], terminated: 0 };
    client = new EngineClient(factory(f), { debug: true, watchdog: { pingMs: 30, unresponsiveMs: 200, autoRestartMs: 600 } });
    expect(f.names[0]!.endsWith(DEBUG_WORKER_SUFFIX)).toBe(true);
    const silent: { ms: number | null; at: number }[] = [];
    const t0 = performance.now();
    client.onUnresponsive((ms) => silent.push({ ms, at: performance.now() - t0 }));
    const restarted: string[] = [];
    client.onRestart((why) => restarted.push(why.name));
    const tokens: number[] = [];
    const run = client.generate({ prompt: [1], sampling: { temperature: 0, topK: 0, topP: 1, seed: 1, maxNewTokens: 12 } }, (ev) => tokens.push(ev.id));
    await expect(run).rejects.toMatchObject({ name: 'EngineHungError', message: expect.stringMatching(/did not respond for \d+ s and was restarted automatically/) });
    const elapsed = performance.now() - t0;
    expect(tokens).toEqual([0, 1, 2]);
    expect(silent[0]!.ms).toBeGreaterThanOrEqual(200);
    expect(silent[0]!.at).toBeLessThan(elapsed); // reported before the restart
    expect(silent.at(-1)!.ms).toBeNull(); // cleared by the restart
    expect(elapsed).toBeGreaterThanOrEqual(600);
    expect(restarted).toEqual(['EngineHungError']);
    expect(f.names.length).toBe(2);
    expect(f.terminated).toBe(1);
    expect(await client.stats()).toEqual({ busy: false }); // the new worker answers
  });

  it('restartHung() (the Restart button) rejects the pending call at once and says so', async () => {
    const f: Fake = { names: [], hangAfter: [0, null], terminated: 0 };
    client = new EngineClient(factory(f), { watchdog: { pingMs: 30, unresponsiveMs: 100, autoRestartMs: 0 } });
    const run = client.generate({ prompt: [1], sampling: { temperature: 0, topK: 0, topP: 1, seed: 1, maxNewTokens: 12 } }, () => {});
    await sleep(300);
    expect(client.unresponsive).toBe(true); // autoRestartMs 0: it waits for the user
    client.restartHung(false);
    await expect(run).rejects.toMatchObject({ name: 'EngineHungError', message: expect.stringMatching(/at your request/) });
    expect(client.unresponsive).toBe(false);
    expect(f.names.length).toBe(2);
  });

  it('reads ?hangNotice / ?hangRestart (seconds; 0 = never restart)', () => {
    expect(watchdogFromQuery(new URLSearchParams('hangNotice=2&hangRestart=0'))).toEqual({ pingMs: 1000, unresponsiveMs: 2000, autoRestartMs: 0 });
    expect(watchdogFromQuery(new URLSearchParams(''))).toEqual({ pingMs: 2000, unresponsiveMs: 8000, autoRestartMs: 120_000 });
    expect(watchdogFromQuery(new URLSearchParams('hangNotice=-3&hangRestart=x')).unresponsiveMs).toBe(8000);
  });
});
