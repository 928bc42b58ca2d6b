// End-to-end tests: the real app, the real engine in its worker, real WebGPU (SwiftShader in Debian's chromium
// here; Playwright's Chromium or LAB_CHROMIUM elsewhere). globalSetup writes small random Llama fixtures into
// test-results/fixtures/ (git-ignored), which the Vite dev server serves at /test-results/fixtures/<name>/.
import { defineConfig } from '@playwright/test';
import { chromiumLaunch } from './tests/browser';

const PORT = 5179;

export default defineConfig({
  testDir: 'tests/e2e',
  outputDir: 'test-results/e2e',
  globalSetup: './tests/e2e/global-setup.ts',
  timeout: 240_000,
  expect: { timeout: 90_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    browserName: 'chromium',
    launchOptions: chromiumLaunch(),
    viewport: { width: 1400, height: 900 },
    trace: 'retain-on-failure',
  },
  webServer: {
    command: `node tests/e2e/serve.mjs ${PORT}`, // Vite dev server, HMR off
    url: `http://127.0.0.1:${PORT}/`,
    reuseExistingServer: !process.env.CI,
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
