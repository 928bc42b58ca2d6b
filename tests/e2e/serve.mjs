// The e2e web server: the repo's Vite dev server (vite.config.ts) on a fixed port, with HMR off so that source
// edits elsewhere in the checkout never reload a page mid-test. Usage: node tests/e2e/serve.mjs [port]
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';

const root = fileURLToPath(new URL('../../', import.meta.url));
const port = Number(process.argv[2] ?? 5179);
const server = await createServer({
  root,
  cacheDir: `${root}node_modules/.vite-e2e`, // its own dependency cache: the CLIs' servers must not re-optimise it mid-run
  configFile: `${root}vite.config.ts`,
  clearScreen: false,
  server: { host: '127.0.0.1', port, strictPort: true, hmr: false },
});
await server.listen();
server.printUrls();
const stop = () => server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
