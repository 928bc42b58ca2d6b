// The per-kernel profile: timestamp queries on the next run, GPU time per kernel family as bars.
import { expect, test } from '@playwright/test';
import { openLab, setNumber, waitIdle } from './app';
import { fixtureUrl, TINY } from './fixtures';

test('profiling a run shows GPU time per kernel family', async ({ page }) => {
  await openLab(page, fixtureUrl(TINY));
  await expect(page.getByTestId('model-name')).toHaveText(TINY);
  const toggle = page.getByTestId('profile-toggle');
  await expect(toggle).toBeEnabled(); // SwiftShader and real adapters here have timestamp-query
  await toggle.check();
  await setNumber(page, 'max-new-tokens', 16);
  await page.getByTestId('generate').click();
  await waitIdle(page);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  for (const k of ['gemv', 'attention', 'rmsnorm']) await expect(page.getByTestId(`kernel-${k}`)).toBeVisible();
  await expect(page.getByTestId('kernel-profile')).toContainText('timed steps');
});
