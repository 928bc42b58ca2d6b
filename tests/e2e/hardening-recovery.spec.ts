// Hardening, recovery (docs/RELIABILITY.md §2–3): a worker that HANGS (a busy loop that answers nothing, made by
// the debug worker's `debugHang`) is noticed by the client's watchdog; the UI says "the engine is not responding"
// with a Restart button; Restart (or the automatic restart after the longer timeout) rejects the pending call with
// EngineHungError, starts a new worker, reloads the model and re-applies the technique settings; the session keeps
// its runs and the next generation works. A device loss mid-generation (`debugLoseDevice`, i.e. device.destroy()
// in the worker) offers "Continue", whose greedy continuation equals the uninterrupted run. Detection and restart
// times are printed as [hardening] lines. Pages opened with ?debug expose the engine client as window.__lab.engine.
import { expect, test, type Page } from '@playwright/test';
import { setNumber, waitIdle } from './app';
import { fixtureUrl, TINY } from './fixtures';

type Any = any;
const at = () => performance.timeOrigin + performance.now();
interface Cond {
  /** test ids whose text is joined and matched against `re` (no `re`: they must all exist) */
  ids: string[];
  re?: string;
  /** and the app is idle */
  idle?: boolean;
}
/** Epoch ms when `c` first held (polled every 10 ms in the page; a function, not a string: the page's CSP). */
async function when(page: Page, c: Cond, timeout = 60_000): Promise<number> {
  const h = await page.waitForFunction(
    (c: Cond) => {
      const el = (id: string) => document.querySelector<HTMLElement>(`[data-testid="${id}"]`);
      const txt = c.ids.map((id) => el(id)?.textContent ?? '').join(' ');
      const ok = (c.re ? new RegExp(c.re).test(txt) : c.ids.every((id) => !!el(id))) && (!c.idle || el('app')?.dataset.phase === 'idle');
      return ok && performance.timeOrigin + performance.now();
    },
    c,
    { polling: 10, timeout },
  );
  return (await h.jsonValue()) as number;
}
const outputIds = async (page: Page) => ((await page.getByTestId('output-ids').textContent()) ?? '').trim().split(/\s+/).map(Number);

async function generateInUi(page: Page, tokens: number): Promise<void> {
  await setNumber(page, 'max-new-tokens', tokens);
  await page.getByTestId('generate').click();
  await waitIdle(page);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await expect(page.getByTestId('token-count')).toHaveText(String(tokens));
}

/** Start a long generation and, once `after` tokens streamed, run `hook` on the engine client (not awaited). */
async function interrupt(page: Page, after: number, hook: 'debugHang' | 'debugLoseDevice', tokens = 900): Promise<number> {
  await setNumber(page, 'max-new-tokens', tokens);
  await page.getByTestId('generate').click();
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid="token-count"]')?.textContent) >= n, after, { polling: 10 });
  return page.evaluate((hook) => {
    void (window as Any).__lab.engine[hook](120_000).catch(() => undefined); // a hang never answers; the restart rejects it
    return performance.timeOrigin + performance.now();
  }, hook);
}

test('a worker that hangs: "not responding" + Restart; the model is reloaded with its settings; auto-restart after the longer timeout', async ({ page }) => {
  await page.goto(`/?debug&hangNotice=2&hangRestart=0&model=${encodeURIComponent(fixtureUrl(TINY))}`);
  await waitIdle(page);
  await setNumber(page, 'temperature', 0);
  await generateInUi(page, 5);
  const denseBytes: number = await page.evaluate(async () => (await (window as Any).__lab.engine.stats()).gpuBytes.weights);
  const panel = page.getByTestId('techniques-panel');
  const seq = Number(await panel.getAttribute('data-apply-seq'));
  await page.getByTestId('tech-precision').selectOption('int4');
  await page.getByTestId('tech-apply').click();
  await expect(panel).toHaveAttribute('data-apply-seq', String(seq + 1));
  await expect(page.getByTestId('tech-in-effect-label')).toContainText('int4');
  await generateInUi(page, 5);
  const int4Ids = await outputIds(page);
  await expect(page.getByTestId('current-session-runs')).toHaveText('2');
  await expect(page.getByTestId('save-status')).toHaveAttribute('data-state', 'saved');

  // 1. Hang mid-generation; the watchdog notices; the user restarts.
  const tHang = await interrupt(page, 5, 'debugHang');
  const tNotice = await when(page, { ids: ['unresponsive-banner'] }, 15_000);
  await expect(page.getByTestId('unresponsive-banner')).toContainText('The engine is not responding');
  const tClick = await page.evaluate(at);
  await page.getByTestId('restart-engine').click();
  const tReloaded = await when(page, { ids: ['notice'], re: 'was reloaded', idle: true });
  await expect(page.getByTestId('unresponsive-banner')).toHaveCount(0);
  await expect(page.getByTestId('notice')).toContainText('restarted at your request');
  await expect(page.getByTestId('notice')).toContainText('the technique settings re-applied');
  await expect(page.getByTestId('model-name')).toHaveText(TINY);
  await expect(page.getByTestId('tech-in-effect-label')).toContainText('int4');
  const int4Bytes: number = await page.evaluate(async () => (await (window as Any).__lab.engine.stats()).gpuBytes.weights);
  expect(int4Bytes).toBeLessThan(denseBytes * 0.5); // the new worker really runs int4
  await expect.poll(() => page.workers().length, { timeout: 5_000 }).toBe(1); // the hung one was terminated
  await expect(page.getByTestId('current-session-runs')).toHaveText('2'); // everything up to the hang is kept
  await setNumber(page, 'max-new-tokens', 5);
  await page.getByTestId('generate').click();
  const tGenerated = await when(page, { ids: ['status'], re: '^Generated 5 tokens' });
  await waitIdle(page);
  expect(await outputIds(page)).toEqual(int4Ids); // same settings, same greedy output as before the hang
  await expect(page.getByTestId('current-session-runs')).toHaveText('3');

  // 2. Hang again; nobody clicks: the client restarts the worker after autoRestartMs.
  await page.getByTestId('notice').getByRole('button', { name: 'Dismiss' }).click(); // the next "was reloaded" is new
  await expect(page.getByTestId('notice')).toHaveCount(0);
  await page.evaluate(() => ((window as Any).__lab.engine.watchdog.autoRestartMs = 5_000));
  const tHang2 = await interrupt(page, 3, 'debugHang');
  const tAuto = await when(page, { ids: ['error-message', 'notice'], re: 'restarted automatically' }, 20_000);
  const tReloaded2 = await when(page, { ids: ['notice'], re: 'restarted automatically.*was reloaded', idle: true });
  await expect(page.getByTestId('tech-in-effect-label')).toContainText('int4');
  await generateInUi(page, 4);
  await expect(page.getByTestId('current-session-runs')).toHaveText('4');

  const ms = (t: number) => Math.round(t);
  console.log(
    `[hardening] hung worker (hangNotice 2 s): "not responding" shown ${ms(tNotice - tHang)} ms after the hang began; ` +
      `Restart click → new worker with the model reloaded and int4 re-applied ${ms(tReloaded - tClick)} ms; first 5-token generation done ${ms(tGenerated - tClick)} ms after the click`,
  );
  console.log(`[hardening] auto-restart (autoRestartMs 5000): restarted ${ms(tAuto - tHang2)} ms after the hang began, model reloaded ${ms(tReloaded2 - tHang2)} ms`);
  expect(tNotice - tHang).toBeLessThan(6_000);
});

/** Long enough that the loss lands mid-run (SwiftShader decodes the tiny model at ~200 tok/s). */
const TOKENS = 300;

test('a device loss mid-generation offers Continue: the greedy continuation equals the uninterrupted run; the session keeps the runs', async ({ page }) => {
  await page.goto(`/?debug&model=${encodeURIComponent(fixtureUrl(TINY))}`);
  await waitIdle(page);
  await setNumber(page, 'temperature', 0);
  await page.getByTestId('prompt').fill('ROMEO:');
  await setNumber(page, 'max-new-tokens', TOKENS);
  await page.getByTestId('generate').click();
  await waitIdle(page);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  const whole = await outputIds(page);
  const wholeText = await page.getByTestId('output-text').textContent();
  expect(whole.length).toBeGreaterThan(12);
  await expect(page.getByTestId('current-session-runs')).toHaveText('1');

  const tLoss = await interrupt(page, 8, 'debugLoseDevice', TOKENS);
  await waitIdle(page);
  await expect(page.getByTestId('error-name')).toHaveText('DeviceLostError');
  await expect(page.getByTestId('continue-run')).toBeVisible();
  const before = await outputIds(page);
  expect(before.length).toBeGreaterThanOrEqual(8);
  expect(before.length).toBeLessThan(whole.length);
  expect(before).toEqual(whole.slice(0, before.length));
  await expect(page.getByTestId('resume-info')).toContainText(`${before.length} of ${TOKENS} tokens`);
  await expect(page.getByTestId('current-session-runs')).toHaveText('1'); // the runs up to the loss are kept
  await expect(page.getByTestId('save-status')).toHaveAttribute('data-state', 'saved');

  const tClick = await page.evaluate(at);
  await page.getByTestId('continue-run').click();
  const tDone = await when(page, { ids: ['status'], re: '^Continued: generated' });
  await waitIdle(page);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await expect(page.getByTestId('status')).toContainText(`${whole.length} in all`);
  expect(await outputIds(page)).toEqual(whole);
  await expect(page.getByTestId('output-text')).toHaveText(wholeText ?? '');
  await expect(page.getByTestId('current-session-runs')).toHaveText('2');
  await generateInUi(page, 3); // and the engine goes on as usual
  console.log(`[hardening] device loss after ${before.length} tokens: Continue click → the remaining ${whole.length - before.length} tokens done in ${Math.round(tDone - tClick)} ms (loss at ${Math.round(tClick - tLoss)} ms before the click, incl. the test's checks)`);
});
