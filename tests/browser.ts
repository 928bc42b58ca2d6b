// How tests launch Chromium with WebGPU. Debian's chromium (SwiftShader WebGPU) on CI and GPU-less machines;
// elsewhere set LAB_CHROMIUM to a Chrome/Chromium executable, or leave it unset to use Playwright's own browser.
import { existsSync } from 'node:fs';

export function chromiumExecutable(): string | undefined {
  if (process.env.LAB_CHROMIUM) return process.env.LAB_CHROMIUM;
  return existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined;
}

export function chromiumLaunch(): { executablePath?: string; args: string[] } {
  return {
    executablePath: chromiumExecutable(),
    args: [
      '--no-sandbox',
      '--enable-unsafe-webgpu',
      '--enable-features=Vulkan',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  };
}
