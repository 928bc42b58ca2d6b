// A local stand-in for the Hugging Face Hub, for tests only (never the real Hub). Serves the Hub's URL layout
//   GET /{owner}/{name}/resolve/{revision}/{file}   → {root}/{owner}/{name}/{revision}/{file}
// like the Hub does: *.safetensors answer with a 302 to /__lfs/... (the Hub redirects LFS files to its CDN), a
// missing file is 404 with X-Error-Code EntryNotFound, CORS on every answer (Authorization allowed, X-Error-Code
// exposed), Cache-Control no-store (so only the app's Cache API can avoid a request). Special repositories:
//   lab/gated  401 + X-Error-Code GatedRepo unless "Authorization: Bearer lab-token" (then served normally)
//   lab/cut    model.safetensors sends Content-Length of the whole file, half the bytes, then drops the socket
//   lab/slow   model.safetensors trickles out in 8 KiB chunks every 40 ms (so a test can cancel mid-download)
// Control: GET /__requests → {"count": n, "paths": [...]} (file requests so far, redirects' targets included);
//          GET /__reset zeroes it.

import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

export const GATED_TOKEN = 'lab-token';

export interface HubServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

const SAFE = /^[A-Za-z0-9_.-]+$/;

export async function startHubServer(root: string, port = 0): Promise<HubServer> {
  let paths: string[] = [];
  const cors = {
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Headers': 'Authorization',
    'Access-Control-Expose-Headers': 'X-Error-Code, X-Error-Message, Content-Length',
    'Cache-Control': 'no-store',
  };
  const send = (res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}) => {
    res.writeHead(status, { ...cors, 'Content-Type': 'text/plain', ...extra });
    res.end(body);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'OPTIONS') return send(res, 204, '', { 'Access-Control-Allow-Methods': 'GET, HEAD' });
    if (u.pathname === '/__requests') return send(res, 200, JSON.stringify({ count: paths.length, paths }), { 'Content-Type': 'application/json' });
    if (u.pathname === '/__reset') {
      paths = [];
      return send(res, 200, 'ok');
    }
    const parts = u.pathname.split('/').slice(1).map(decodeURIComponent);
    const lfs = parts[0] === '__lfs';
    const [owner, name, kw, rev, ...fileParts] = lfs ? [parts[1], parts[2], 'resolve', parts[3], ...parts.slice(4)] : parts;
    if (kw !== 'resolve' || !owner || !name || !rev || fileParts.length === 0) return send(res, 404, 'not a resolve URL');
    paths.push(u.pathname);
    const file = fileParts.join('/');
    if (![owner, name, rev, ...fileParts].every((p) => SAFE.test(p!) && p !== '..')) return send(res, 400, 'bad path');
    const repo = `${owner}/${name}`;
    if (repo === 'lab/gated' && req.headers.authorization !== `Bearer ${GATED_TOKEN}`)
      return send(res, 401, 'Access to model lab/gated is restricted.', { 'X-Error-Code': 'GatedRepo' });
    const path = normalize(join(root, owner!, name!, rev!, file));
    if (!path.startsWith(normalize(root)) || !existsSync(path) || !statSync(path).isFile())
      return send(res, 404, 'Entry not found', { 'X-Error-Code': 'EntryNotFound' });
    if (!lfs && file.endsWith('.safetensors')) {
      const to = `/__lfs/${[owner, name, rev, ...fileParts].map((p) => encodeURIComponent(p!)).join('/')}`;
      res.writeHead(302, { ...cors, Location: to });
      return res.end();
    }
    const size = statSync(path).size;
    const head = { ...cors, 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) };
    if (repo === 'lab/cut' && file === 'model.safetensors') {
      res.writeHead(200, head);
      res.write(readFileSync(path).subarray(0, size >> 1), () => setTimeout(() => res.destroy(), 50));
      return;
    }
    if (repo === 'lab/slow' && file === 'model.safetensors') {
      res.writeHead(200, head);
      const bytes = readFileSync(path);
      let at = 0;
      const tick = () => {
        if (res.destroyed) return;
        const n = Math.min(8192, size - at);
        res.write(bytes.subarray(at, at + n));
        at += n;
        if (at >= size) res.end();
        else setTimeout(tick, 40);
      };
      tick();
      return;
    }
    res.writeHead(200, head);
    createReadStream(path).pipe(res);
  };

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (e) {
      send(res, 500, String(e));
    }
  });
  await new Promise<void>((ok) => server.listen(port, '127.0.0.1', ok));
  const p = (server.address() as AddressInfo).port;
  return {
    port: p,
    url: `http://127.0.0.1:${p}`,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
