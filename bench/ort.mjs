// mirl beside onnxruntime-web 1.30 in one headless Chromium page (served with COOP/COEP, so
// onnxruntime-web may use threads), on the same network and the same noisy photo: warm medians
// and their ratio, first runs, bytes each library made the page download, and the largest
// difference between the two outputs in 8-bit levels (an independent check of mirl's network).
//
//   bash scripts/build-pkg.sh && (cd bench && npm install)
//   native-trainer export [T.mirl] -o /tmp/w.safetensors --config /tmp/c.json
//   python3 bench/export_onnx.py /tmp/w.safetensors /tmp/c.json /tmp/model.onnx   # torch, onnx, onnxscript from PyPI
//   node bench/ort.mjs /tmp/model.onnx [--ticket T.mirl] [--sizes 256,512] [--runs 5] [--backend cpu|webgpu]
//        [--threads N|auto] [--tile T] [--ort-threads N]
// mirl restores each photo in one tile by default; with --threads, give a --tile that cuts it
// into at least as many tiles as threads (tiles overlap by up to 32 pixels: extra work).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { launch } from '../tests/browser/browsers.mjs';
import { serve } from '../scripts/serve.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    sizes: { type: 'string', default: '256,512' },
    runs: { type: 'string', default: '5' },
    backend: { type: 'string', default: 'cpu' },
    threads: { type: 'string', default: '1' },
    tile: { type: 'string', default: '0' },
    'ort-threads': { type: 'string', default: '0' },
    ticket: { type: 'string' },
  },
});
const model = resolve(positionals[0] ?? '');
if (!positionals[0] || !existsSync(model)) throw new Error(`usage: node bench/ort.mjs MODEL.onnx (see the comment at the top); no model at ${model}`);
const ortDist = join(repo, 'bench/node_modules/onnxruntime-web/dist');
if (!existsSync(ortDist)) throw new Error('onnxruntime-web is missing: (cd bench && npm install)');
const shared = resolve(process.env.MIRL_SHARED ?? join(repo, '../shared'));
const photos = join(shared, 'data/test/cbsd68');
const photo = readdirSync(photos).sort()[0];
const sizes = args.sizes.split(',').map(Number);
const runs = Number(args.runs);
const backend = args.backend;
const threads = args.threads;
const tile = Number(args.tile);
const ortThreads = Number(args['ort-threads']);
// mirl runs this ticket (the same network as the ONNX model); the bundled one when omitted.
const ticket = args.ticket && resolve(args.ticket);
if (ticket && !existsSync(ticket)) throw new Error(`--ticket: no such ticket: ${ticket}`);

const mounts = { '/pkg/': join(repo, 'pkg'), '/bench/': join(repo, 'bench'), '/ort/': ortDist, '/model/': dirname(model), '/photos/': photos };
// The page asks for /model/model.onnx: serve the given file under that name.
if (basename(model) !== 'model.onnx') mounts['/model/model.onnx'] = model;
if (ticket) mounts['/ticket/ticket.mirl'] = ticket;
const { server, url, requests } = await serve(mounts);
const browser = await launch();
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(0);
  await page.goto(`${url}/bench/ort.html`);
  await page.waitForFunction(() => window.ready === true);
  const r = await page.evaluate((a) => window.compare(a), { photoUrl: `/photos/${photo}`, sizes, runs, backend, threads: threads === 'auto' ? 'auto' : Number(threads), tile, ortThreads, ticketUrl: ticket ? '/ticket/ticket.mirl' : undefined });
  const bytes = (prefix) => {
    const files = [...new Set(requests)].filter((p) => p.startsWith(prefix));
    // A file mounted under its own URL (the model, the ticket), or a file in a mounted folder.
    const path = (p) => mounts[p] ?? join(mounts[prefix], p.slice(prefix.length));
    return {
      files: files.map((p) => p.split('/').pop()),
      raw: files.reduce((n, p) => n + statSync(path(p)).size, 0),
      gz: files.reduce((n, p) => n + gzipSync(readFileSync(path(p)), { level: 9 }).length, 0),
    };
  };
  const [m, o, net, t] = [bytes('/pkg/'), bytes('/ort/'), bytes('/model/'), bytes('/ticket/')];
  console.log(`page: crossOriginIsolated ${r.crossOriginIsolated}, onnxruntime-web threads ${r.threads}; mirl on ${r.mirlBackend} with ${r.mirlThreads} thread(s)${tile ? ` in tiles of ${tile}` : ''}, onnxruntime-web on ${backend === 'webgpu' ? 'webgpu' : 'wasm'}; ${photo}, σ 25`);
  const mirlTicket = ticket ? ` + the ticket ${t.raw} bytes (${t.gz} gzipped)` : ' (the bundled ticket inside)';
  console.log(`downloaded: mirl ${m.raw} bytes (${m.gz} gzipped): ${m.files.join(', ')}${mirlTicket}`);
  console.log(`            onnxruntime-web ${o.raw} bytes (${o.gz} gzipped): ${o.files.join(', ')}; the model ${net.raw} bytes (${net.gz} gzipped)`);
  console.log(`create: mirl ${r.mirlCreate.toFixed(0)} ms, onnxruntime-web ${r.ortCreate.toFixed(0)} ms; mirl wasm memory ${(r.mirlWasmMemory / 2 ** 20).toFixed(0)} MiB`);
  console.log('| size | mirl warm | onnxruntime-web warm | mirl / onnxruntime-web | first run, mirl / ort | outputs differ by at most |');
  console.log('|---|---|---|---|---|---|');
  for (const s of r.sizes) {
    console.log(`| ${s.size}x${s.size} | ${s.mirlWarm.toFixed(0)} ms | ${s.ortWarm.toFixed(0)} ms | ${(s.mirlWarm / s.ortWarm).toFixed(2)} | ` +
      `${s.mirlFirst.toFixed(0)} / ${s.ortFirst.toFixed(0)} ms | ${s.maxLevels}/255 |`);
  }
  for (const s of r.sizes) console.log(`runs ${s.size}: mirl ${s.mirlRuns.map((x) => x.toFixed(0)).join(', ')}; ort ${s.ortRuns.map((x) => x.toFixed(0)).join(', ')}`);
} finally {
  await browser.close();
  server.close();
}
