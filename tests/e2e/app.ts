// Page helpers for the e2e tests: open the lab, wait for it to settle, set sampling, watch the stream.
import { expect, type Page } from '@playwright/test';

/** Open the lab (optionally with ?model=<url>) and wait until start-up (probe + first load) is over. */
export async function openLab(page: Page, modelUrl?: string): Promise<void> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`[browser] ${m.text()}`);
  });
  await page.goto(modelUrl ? `/?model=${encodeURIComponent(modelUrl)}` : '/');
  await waitIdle(page);
  expect(errors, 'uncaught page errors').toEqual([]);
}

export async function waitIdle(page: Page): Promise<void> {
  await expect(page.getByTestId('app')).toHaveAttribute('data-phase', 'idle', { timeout: 180_000 });
}

export async function setNumber(page: Page, testId: string, value: number): Promise<void> {
  const input = page.getByTestId(testId);
  await input.fill(String(value));
  await input.dispatchEvent('change');
  await expect(input).toHaveValue(String(value));
}

/** Record every value the generated-token counter shows, from now on (to prove tokens stream). */
export async function recordTokenCounts(page: Page): Promise<void> {
  await page.evaluate(() => {
    const el = document.querySelector('[data-testid="token-count"]')!;
    const seen: number[] = [];
    (window as unknown as { __tokenCounts: number[] }).__tokenCounts = seen;
    new MutationObserver(() => seen.push(Number(el.textContent))).observe(el, { childList: true, characterData: true, subtree: true });
  });
}

export async function tokenCounts(page: Page): Promise<number[]> {
  return page.evaluate(() => (window as unknown as { __tokenCounts: number[] }).__tokenCounts);
}

/** The number shown by a metric, e.g. metric-ttft → 12.3; NaN for '–'. */
export async function metricValue(page: Page, testId: string): Promise<number> {
  const text = (await page.getByTestId(testId).textContent()) ?? '';
  return Number(text.replace(/,/g, ''));
}
