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

export default defineConfig({
  publicDir: false,
  plugins: [copyModels()],
  server: { host: '127.0.0.1', port: 5173, fs: { allow: ['.'] } },
  preview: { host: '127.0.0.1', port: 4173 },
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  build: { target: 'es2022', sourcemap: true },
});
