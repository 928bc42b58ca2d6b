import { cpSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

// The lab is a plain Vite app. Preact's JSX comes from tsconfig's jsxImportSource.
// `models/` is served as-is under /models so the embedded models load offline.

/** `vite build`: copy models/ (embedded models + manifest.json) to dist/models/, served as /models/ by preview. */
function copyModels(): Plugin {
  let root = '.';
  let outDir = 'dist';
  return {
    name: 'lab-copy-models',
    apply: 'build',
    configResolved(c) {
      root = c.root;
      outDir = resolve(c.root, c.build.outDir);
    },
    closeBundle() {
      const src = resolve(root, 'models');
      if (existsSync(src)) cpSync(src, resolve(outDir, 'models'), { recursive: true });
    },
  };
}

/** Dev server only: Vite injects each imported stylesheet as a <style> element, which index.html's CSP
 *  (style-src 'self') would block; allow inline styles there. `vite build` keeps the strict policy. See
 *  docs/RELIABILITY.md. */
function devCspStyles(): Plugin {
  return {
    name: 'lab-dev-csp-styles',
    apply: 'serve',
    transformIndexHtml: (html) => html.replace("style-src 'self';", "style-src 'self' 'unsafe-inline';"),
  };
}

export default defineConfig({
  publicDir: false,
  plugins: [copyModels(), devCspStyles()],
  server: { host: '127.0.0.1', port: 5173, fs: { allow: ['.'] } },
  preview: { host: '127.0.0.1', port: 4173 },
  worker: { format: 'es' },
  // Pre-bundle every dependency up front, the worker's included: a dependency discovered at run time makes Vite
  // re-optimise and reload, and a module worker that was loading then fails (seen on a fresh clone's first run).
  optimizeDeps: {
    exclude: ['onnxruntime-web'],
    entries: ['index.html', 'src/engine/worker.ts', 'tools/cli/runner.html'],
    include: ['comlink', 'idb', '@huggingface/tokenizers', 'preact', 'preact/hooks', 'preact/jsx-runtime', '@preact/signals', 'uplot'],
  },
  build: { target: 'es2022', sourcemap: true },
});
