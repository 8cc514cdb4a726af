// The demo's static file server, also used by the browser tests and benchmarks: serves folders
// on 127.0.0.1 with the wasm MIME type and the COOP/COEP headers a threaded page needs, and
// records every request.
//
//   node scripts/serve.mjs [--port 8000]    # www/ at /, pkg/ at /pkg/
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok({ server, requests, url: `http://127.0.0.1:${server.address().port}` }));
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const at = process.argv.indexOf('--port');
  const port = at > 0 ? Number(process.argv[at + 1]) : 8000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve: --port needs a port number, not ${JSON.stringify(process.argv[at + 1])}`);
    process.exit(2);
  }
  try {
    await stat(join(repo, 'pkg/mirl_core_bg.wasm'));
  } catch {
    console.error('serve: pkg/ is not built; run bash scripts/build-pkg.sh first');
    process.exit(1);
  }
  const { server, url } = await serve({ '/': join(repo, 'www'), '/pkg/': join(repo, 'pkg') }, port).catch((e) => {
    console.error(`serve: cannot listen on 127.0.0.1:${port}: ${e.message}`);
    process.exit(1);
  });
  console.log(`mirl demo: ${url}/  (Ctrl+C stops the server)`);
  process.on('SIGINT', () => server.close(() => process.exit(0)));
}
