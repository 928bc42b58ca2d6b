// A local stand-in for the Hugging Face Hub, for tests only (never the real Hub). Serves the Hub's URL layout
//   GET|HEAD /{owner}/{name}/resolve/{revision}/{file}   → {root}/{owner}/{name}/{revision}/{file}
// like the Hub does: *.safetensors answer with a 302 to /__lfs/... (the Hub redirects LFS files to its CDN), a
// missing file is 404 with X-Error-Code EntryNotFound, CORS on every answer (Authorization allowed, X-Error-Code,
// X-Repo-Commit, ETag, X-Linked-Etag exposed), Cache-Control no-store (so only the app's Cache API can avoid a
// request). Versions, as the Hub's: every resolve answer carries X-Repo-Commit — the revision itself when it is a
// 40-hex commit id, else a sha1 of the revision folder's file names and contents (so it moves when a file changes);
// a file answer carries ETag "<sha256 of the bytes>"; the LFS 302 carries X-Linked-Etag (the same) and
// X-Linked-Size, while the /__lfs answer (the "CDN") has the ETag but no X-Repo-Commit. Special repositories:
//   lab/gated  401 + X-Error-Code GatedRepo unless "Authorization: Bearer lab-token" (then served normally)
//   lab/cut    model.safetensors sends Content-Length of the whole file, half the bytes, then drops the socket
//   lab/slow   model.safetensors trickles out in 8 KiB chunks every 40 ms (so a test can cancel mid-download)
// Control (never counted, never offline):
//   GET /__requests → {count, paths, log, byPath}: file requests so far (redirects' targets included); paths in
//                     order, log as "METHOD path", byPath: path → how many
//   GET /__reset zeroes it
//   PUT /__files/{owner}/{name}/{revision}/{file} with the bytes as body: writes (replaces) that file, so a test can
//                     change a repo between loads (its X-Repo-Commit and the file's ETag change with it)
//   GET /__offline?mode=down|hang|up: down destroys every other request's socket (fetch fails: "offline"), hang
//                     never answers them (a timeout), up serves again

import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, normalize } from 'node:path';

export const GATED_TOKEN = 'lab-token';

export interface HubServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

const SAFE = /^[A-Za-z0-9_.-]+$/;
const COMMIT_ID = /^[0-9a-f]{40}$/;
const sha = (algo: 'sha1' | 'sha256', b: Uint8Array | string) => createHash(algo).update(b).digest('hex');

export async function startHubServer(root: string, port = 0): Promise<HubServer> {
  let log: { method: string; path: string }[] = [];
  let offline: 'up' | 'down' | 'hang' = 'up';
  const hung = new Set<ServerResponse>();
  const etags = new Map<string, string>(); // file path → ETag
  const commits = new Map<string, string>(); // revision folder → commit
  const cors = {
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Headers': 'Authorization, Content-Type',
    'Access-Control-Expose-Headers': 'X-Error-Code, X-Error-Message, Content-Length, X-Repo-Commit, ETag, X-Linked-Etag, X-Linked-Size',
    'Cache-Control': 'no-store',
  };
  const send = (res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}) => {
    res.writeHead(status, { ...cors, 'Content-Type': 'text/plain', ...extra });
    res.end(body);
  };
  const etagOf = (path: string) => {
    if (!etags.has(path)) etags.set(path, `"${sha('sha256', readFileSync(path))}"`);
    return etags.get(path)!;
  };
  const commitOf = (dir: string, rev: string) => {
    if (COMMIT_ID.test(rev)) return rev;
    if (!commits.has(dir)) {
      const files = existsSync(dir) ? readdirSync(dir).filter((f) => statSync(join(dir, f)).isFile()).sort() : [];
      commits.set(dir, sha('sha1', files.map((f) => `${f}\0${etagOf(join(dir, f))}\n`).join('')));
    }
    return commits.get(dir)!;
  };

  const control = (req: IncomingMessage, res: ServerResponse, u: URL): boolean => {
    if (u.pathname === '/__requests') {
      const byPath: Record<string, number> = {};
      for (const r of log) byPath[r.path] = (byPath[r.path] ?? 0) + 1;
      const body = { count: log.length, paths: log.map((r) => r.path), log: log.map((r) => `${r.method} ${r.path}`), byPath };
      send(res, 200, JSON.stringify(body), { 'Content-Type': 'application/json' });
    } else if (u.pathname === '/__reset') {
      log = [];
      send(res, 200, 'ok');
    } else if (u.pathname === '/__offline') {
      const mode = u.searchParams.get('mode');
      if (mode !== 'up' && mode !== 'down' && mode !== 'hang') send(res, 400, 'mode: up, down or hang');
      else {
        offline = mode;
        if (mode === 'up') for (const h of hung) h.destroy();
        hung.clear();
        send(res, 200, mode);
      }
    } else if (u.pathname.startsWith('/__files/') && req.method === 'PUT') {
      const parts = u.pathname.split('/').slice(2).map(decodeURIComponent);
      if (parts.length < 4 || !parts.every((p) => SAFE.test(p) && p !== '..')) {
        send(res, 400, 'bad path');
        return true;
      }
      const path = join(root, ...parts);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, Buffer.concat(chunks));
        etags.clear();
        commits.clear();
        send(res, 200, 'ok');
      });
    } else return false;
    return true;
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'OPTIONS') return send(res, 204, '', { 'Access-Control-Allow-Methods': 'GET, HEAD, PUT' });
    if (control(req, res, u)) return;
    if (offline === 'down') return void req.socket.destroy();
    if (offline === 'hang') return void hung.add(res);
    const parts = u.pathname.split('/').slice(1).map(decodeURIComponent);
    const lfs = parts[0] === '__lfs';
    const [owner, name, kw, rev, ...fileParts] = lfs ? [parts[1], parts[2], 'resolve', parts[3], ...parts.slice(4)] : parts;
    if (kw !== 'resolve' || !owner || !name || !rev || fileParts.length === 0) return send(res, 404, 'not a resolve URL');
    log.push({ method: req.method ?? 'GET', path: u.pathname });
    const file = fileParts.join('/');
    if (![owner, name, rev, ...fileParts].every((p) => SAFE.test(p!) && p !== '..')) return send(res, 400, 'bad path');
    const repo = `${owner}/${name}`;
    if (repo === 'lab/gated' && req.headers.authorization !== `Bearer ${GATED_TOKEN}`)
      return send(res, 401, 'Access to model lab/gated is restricted.', { 'X-Error-Code': 'GatedRepo' });
    const dir = normalize(join(root, owner!, name!, rev!));
    const path = normalize(join(dir, file));
    const version: Record<string, string> = lfs || !existsSync(dir) ? {} : { 'X-Repo-Commit': commitOf(dir, rev!) };
    if (!path.startsWith(normalize(root)) || !existsSync(path) || !statSync(path).isFile())
      return send(res, 404, 'Entry not found', { 'X-Error-Code': 'EntryNotFound', ...version });
    const size = statSync(path).size;
    if (!lfs && file.endsWith('.safetensors')) {
      const to = `/__lfs/${[owner, name, rev, ...fileParts].map((p) => encodeURIComponent(p!)).join('/')}`;
      res.writeHead(302, { ...cors, ...version, Location: to, 'X-Linked-Etag': etagOf(path), 'X-Linked-Size': String(size) });
      return res.end();
    }
    const head = { ...cors, ...version, ETag: etagOf(path), 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) };
    if (req.method === 'HEAD') {
      res.writeHead(200, head);
      return res.end();
    }
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
