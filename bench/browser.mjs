// Browser figures for the npm package (pkg/, build it first: bash scripts/build-pkg.sh):
// each core's wasm size raw and gzipped, what a page downloads, ticket size, time to first restore (create + first restore,
// kernel compilation included), and ms per megapixel once warm, on WebGPU and on the CPU in
// headless Chromium. WebGPU here is SwiftShader (a CPU emulation): a real GPU is far faster.
//   node bench/browser.mjs [--size 256] [--runs 3] [--ticket T.mirl] [--backend cpu|webgpu]
//   (default: the bundled ticket, both backends)
import { statSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { launch } from '../tests/browser/browsers.mjs';
import { serve } from '../scripts/serve.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: { size: { type: 'string', default: '256' }, runs: { type: 'string', default: '3' }, ticket: { type: 'string' }, backend: { type: 'string' } },
});
const size = Number(args.size);
const ticketPath = args.ticket ? resolve(args.ticket) : null;
const runs = Number(args.runs);
const backends = args.backend ? [args.backend] : ['webgpu', 'cpu'];
const gz = (path) => gzipSync(readFileSync(path), { level: 9 }).length;
for (const core of ['mirl_core', 'mirl_gpu']) {
  const path = join(repo, `pkg/${core}_bg.wasm`);
  console.log(`${core}_bg.wasm: ${statSync(path).size} bytes, ${gz(path)} gzipped`);
}
console.log(`default ticket: ${statSync(join(repo, 'tickets/allinone.mirl')).size} bytes (inside each core)` +
  (ticketPath ? `; measuring ${ticketPath} (${statSync(ticketPath).size} bytes)` : ''));

const mounts = { '/pkg/': join(repo, 'pkg'), '/bench/': join(repo, 'bench') };
if (ticketPath) mounts['/ticket/'] = dirname(ticketPath);
const ticketUrl = ticketPath ? `/ticket/${ticketPath.split('/').pop()}` : null;
const { server, url, requests } = await serve(mounts);
const browser = await launch();
try {
  for (const backend of backends) {
    // A fresh page per backend, so the first restore includes everything a visitor waits for.
    const page = await browser.newPage();
    requests.length = 0;
    await page.goto(`${url}/bench/browser.html`);
    const r = await page.evaluate(async ([backend, size, runs, ticket]) => {
      const { Restorer } = await import('/pkg/mirl.js');
      const image = new ImageData(size, size);
      for (let i = 0; i < image.data.length; i++) image.data[i] = (i * 7919) % 251;
      const t0 = performance.now();
      const restorer = await Restorer.create(ticket ? { backend, ticket } : { backend });
      const t1 = performance.now();
      await restorer.restore(image, { tasks: 'all' });
      const t2 = performance.now();
      const times = [];
      for (let i = 0; i < runs; i++) {
        const s = performance.now();
        await restorer.restore(image, { tasks: 'all' });
        times.push(performance.now() - s);
      }
      times.sort((a, b) => a - b);
      return { backend: restorer.backend, info: restorer.info(), create: t1 - t0, first: t2 - t0, median: times[times.length >> 1], times };
    }, [backend, size, runs, ticketUrl]);
    const mp = (size * size) / 1e6;
    console.log(`${r.backend}: network ${r.info.parameters} parameters (${r.info.nonzero} non-zero); ` +
      `create ${r.create.toFixed(0)} ms; first ${size}x${size} restore done ${r.first.toFixed(0)} ms after create started; ` +
      `warm median ${r.median.toFixed(0)} ms = ${(r.median / mp).toFixed(0)} ms/MP (runs: ${r.times.map((t) => t.toFixed(0)).join(', ')})`);
    // What the page downloaded of the package (each file once; gzip as a server would send it).
    const files = [...new Set(requests)].filter((p) => p.startsWith('/pkg/') || p.startsWith('/ticket/'));
    const local = (p) => (p.startsWith('/pkg/') ? join(repo, 'pkg', p.slice(5)) : ticketPath);
    const raw = files.reduce((n, p) => n + statSync(local(p)).size, 0);
    const zipped = files.reduce((n, p) => n + gz(local(p)), 0);
    console.log(`${r.backend}: the page downloaded ${raw} bytes (${zipped} gzipped): ${files.map((p) => p.split('/').pop()).join(', ')}`);
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}
