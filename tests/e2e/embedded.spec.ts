// The app opens on the embedded target model (models/lab-target, listed in models/manifest.json) and generates.
import { existsSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { openLab, setNumber, waitIdle } from './app';
import { ROOT } from './fixtures';

const HAVE_TARGET = existsSync(`${ROOT}models/lab-target/model.safetensors`);

test('opens on the embedded target by default and generates text from it', async ({ page }) => {
  test.skip(!HAVE_TARGET, 'models/lab-target is not there yet');
  await openLab(page);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await expect(page.getByTestId('model-select')).toHaveValue('lab-target');
  await expect(page.getByTestId('model-name')).toHaveText('lab-target');
  await expect(page.getByTestId('header-model')).toHaveText('lab-target');
  await expect(page.getByTestId('prompt-mode')).toHaveValue('text');

  await page.getByTestId('prompt').fill('ROMEO:\nBut soft, what light');
  await setNumber(page, 'max-new-tokens', 12);
  await page.getByTestId('generate').click();
  await waitIdle(page);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  const n = Number(await page.getByTestId('token-count').textContent());
  expect(n).toBeGreaterThan(0);
  expect(n).toBeLessThanOrEqual(12);
  const text = (await page.getByTestId('output-text').textContent()) ?? '';
  expect(text.trim().length).toBeGreaterThan(0);
  console.log(`lab-target says: ${JSON.stringify(text)}`);
});
