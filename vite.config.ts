import { defineConfig } from 'vite';

// The lab is a plain Vite app. Preact's JSX comes from tsconfig's jsxImportSource.
// `models/` is served as-is under /models so the embedded models load offline.
export default defineConfig({
  publicDir: false,
  server: { host: '127.0.0.1', port: 5173, fs: { allow: ['.'] } },
  preview: { host: '127.0.0.1', port: 4173 },
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  build: { target: 'es2022', sourcemap: true },
});
