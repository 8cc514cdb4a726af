// A static file server for browser tests and the demo: serves `root` on 127.0.0.1 with the
// wasm MIME type and the COOP/COEP headers a threaded page needs, and records every request.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.mirl': 'application/octet-stream',
  '.ts': 'text/plain; charset=utf-8',
};

/** mounts: { '/url-prefix/': '/folder' }; the longest matching prefix wins. */
export function serve(mounts, port = 0) {
  const requests = [];
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    requests.push(url.pathname);
    const prefix = prefixes.find((p) => url.pathname.startsWith(p));
    let path = prefix && join(resolve(mounts[prefix]), normalize(decodeURIComponent(url.pathname.slice(prefix.length))));
    try {
      if (!path || !path.startsWith(resolve(mounts[prefix]))) throw new Error('outside');
      if ((await stat(path)).isDirectory()) path = join(path, 'index.html');
      const body = await readFile(path);
      res.writeHead(200, {
        'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream',
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
        'Cache-Control': 'no-store',
      });
      res.end(body);
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  });
  return new Promise((ok) =>
    server.listen(port, '127.0.0.1', () => ok({ server, requests, url: `http://127.0.0.1:${server.address().port}` })),
  );
}
