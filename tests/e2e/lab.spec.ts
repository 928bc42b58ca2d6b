// The lab on a tiny random Llama: load it in the worker, stream tokens, see metrics, memory and the device;
// stop mid-generation; a broken file gives a clear typed error and the worker stays usable.
import { expect, test } from '@playwright/test';
import { metricValue, openLab, recordTokenCounts, setNumber, tokenCounts, waitIdle } from './app';
import { BROKEN, FIXTURES_DIR, fixtureUrl, TINY, TINY_IDS } from './fixtures';

test('loads a model in the worker, streams tokens, shows metrics, memory and the device', async ({ page }) => {
  await openLab(page, fixtureUrl(TINY));
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await expect(page.getByTestId('model-name')).toHaveText(TINY);
  await expect(page.getByTestId('prompt-mode')).toHaveValue('text');

  await setNumber(page, 'temperature', 0);
  await setNumber(page, 'max-new-tokens', 24);
  await page.getByTestId('prompt').fill('ROMEO:\nBut soft');
  await recordTokenCounts(page);
  await page.getByTestId('generate').click();
  await waitIdle(page);

  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await expect(page.getByTestId('token-count')).toHaveText('24');
  const ids = ((await page.getByTestId('output-ids').textContent()) ?? '').trim().split(/\s+/).map(Number);
  expect(ids).toHaveLength(24);
  expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < 1024)).toBe(true);
  expect(((await page.getByTestId('output-text').textContent()) ?? '').length).toBeGreaterThan(0);
  expect(Number(await page.getByTestId('prompt-token-count').textContent())).toBeGreaterThan(1);
  // Streamed: the counter went through intermediate values, not straight to 24.
  const seen = await tokenCounts(page);
  expect(new Set(seen.filter((n) => n > 0 && n < 24)).size).toBeGreaterThanOrEqual(3);

  await expect(page.getByTestId('metrics-state')).toContainText('stopped by length');
  for (const id of ['metric-ttft', 'metric-prefill', 'metric-decode', 'metric-p50', 'metric-p95']) {
    const v = await metricValue(page, id);
    expect(v, id).toBeGreaterThan(0);
  }
  await expect(page.locator('[data-testid="latency-chart"] canvas')).toHaveCount(1);
  expect(Number(await page.getByTestId('mem-weights').getAttribute('data-bytes'))).toBeGreaterThan(100_000);
  expect(Number(await page.getByTestId('mem-kv').getAttribute('data-bytes'))).toBeGreaterThan(0);

  const device = page.getByTestId('device-panel');
  await expect(device.getByTestId('device-limits')).toContainText('maxStorageBufferBindingSize');
  await expect(device.getByTestId('device-features')).not.toBeEmpty();
  const probe = await page.evaluate(async () => (await navigator.gpu.requestAdapter())?.info);
  if (probe && (probe as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter)
    await expect(device.getByTestId('device-fallback')).toHaveText('fallback (CPU-emulated) adapter: timings are not GPU timings');
});

test('token-id prompts work for a model without a tokenizer', async ({ page }) => {
  await openLab(page, fixtureUrl(TINY_IDS));
  await expect(page.getByTestId('model-name')).toHaveText(TINY_IDS);
  await expect(page.getByTestId('prompt-mode')).toHaveValue('ids');
  await page.getByTestId('prompt').fill('5, 17, 300, 42');
  await setNumber(page, 'max-new-tokens', 6);
  await page.getByTestId('generate').click();
  await waitIdle(page);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await expect(page.getByTestId('token-count')).toHaveText('6');
  await expect(page.getByTestId('prompt-token-count')).toHaveText('4');
});

test('Stop ends a long generation mid-way', async ({ page }) => {
  await openLab(page, fixtureUrl(TINY));
  await setNumber(page, 'max-new-tokens', 900);
  // Click Stop from inside the page as soon as 5 tokens have streamed (a tiny model decodes 900 tokens in a few
  // seconds: a round trip from the test process could arrive after the end).
  const stopped = page.evaluate(
    () =>
      new Promise<number>((resolve) => {
        const count = document.querySelector('[data-testid="token-count"]')!;
        const obs = new MutationObserver(() => {
          const n = Number(count.textContent);
          if (n < 5) return;
          obs.disconnect();
          (document.querySelector('[data-testid="stop"]') as HTMLButtonElement).click();
          resolve(n);
        });
        obs.observe(count, { childList: true, characterData: true, subtree: true });
      }),
  );
  await page.getByTestId('generate').click();
  expect(await stopped).toBeGreaterThanOrEqual(5);
  await waitIdle(page);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await expect(page.getByTestId('metrics-state')).toContainText('stopped by abort');
  const n = Number(await page.getByTestId('token-count').textContent());
  expect(n).toBeGreaterThanOrEqual(5);
  expect(n).toBeLessThan(900);
  await expect(page.getByTestId('generate')).toBeEnabled();
});

test('a broken model file gives a clear error naming the file, and the worker lives on', async ({ page }) => {
  await openLab(page, fixtureUrl(BROKEN));
  const banner = page.getByTestId('error-banner');
  await expect(banner).toBeVisible();
  await expect(page.getByTestId('error-name')).toHaveText('SafetensorsError');
  await expect(page.getByTestId('error-message')).toContainText('model.safetensors');
  await expect(page.getByTestId('error-message')).toContainText('header length 99999 runs past the end of the file (120 bytes');
  console.log(`shown: ${await banner.textContent()}`);
  await expect(page.getByTestId('model-info')).toHaveText('No model loaded.');

  // The same worker then loads a valid model from picked files and generates.
  const dir = `${FIXTURES_DIR}${TINY}/`;
  await page.getByTestId('file-files').setInputFiles(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((f) => dir + f));
  await waitIdle(page);
  await expect(banner).toHaveCount(0);
  await expect(page.getByTestId('model-params')).not.toHaveText('–');
  await setNumber(page, 'max-new-tokens', 5);
  await page.getByTestId('generate').click();
  await waitIdle(page);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await expect(page.getByTestId('token-count')).toHaveText('5');
});
