import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';

// Two projects:
//  - unit: plain Node (CPU references, loaders, logic).
//  - gpu:  kernels and the engine on real WebGPU in headless Chromium (vitest browser mode + Playwright).
//          Here that is SwiftShader inside Debian's chromium; on a laptop, Playwright's Chromium or Chrome
//          (set LAB_CHROMIUM to the executable; default /usr/bin/chromium when it exists).
import { chromiumLaunch } from './tests/browser';

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['tests/unit/**/*.test.ts'], environment: 'node' },
      },
      {
        extends: true,
        test: {
          name: 'gpu',
          include: ['tests/gpu/**/*.test.ts'],
          // a local stand-in for the Hugging Face Hub (tests/hub/server.ts); its port is inject('hubPort')
          globalSetup: ['tests/hub/global-setup.ts'],
          browser: {
            enabled: true,
            headless: true,
            provider: playwright({ launchOptions: chromiumLaunch() }),
            instances: [{ browser: 'chromium' }],
            screenshotFailures: false,
          },
        },
        // As in vite.config.ts (which vitest does not read once vitest.config.ts exists): ORT-web's bundles load
        // their .wasm relative to import.meta.url, which pre-bundling into .vite/deps breaks.
        optimizeDeps: { exclude: ['onnxruntime-web'], include: ['@huggingface/tokenizers', 'idb', 'comlink'] },
      },
    ],
  },
});
