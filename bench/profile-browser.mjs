// Where a restore's time goes on the CPU in headless Chromium: V8's sampling profiler (over the
// DevTools protocol) during warm restores in the page's own thread, self time summed by wasm
// function, largest first. The package keeps the wasm's function names, so rows name Rust
// functions (build it first: bash scripts/build-pkg.sh).
//   node bench/profile-browser.mjs [--size 512] [--runs 3] [--top 25] [--ticket T.mirl]
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { launch } from '../tests/browser/browsers.mjs';
import { serve } from '../scripts/serve.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: { size: { type: 'string', default: '512' }, runs: { type: 'string', default: '3' }, top: { type: 'string', default: '25' }, ticket: { type: 'string' } },
});
const size = Number(args.size);
const runs = Number(args.runs);
const top = Number(args.top);
const ticketPath = args.ticket && resolve(args.ticket);

const mounts = { '/pkg/': join(repo, 'pkg'), '/bench/': join(repo, 'bench') };
if (ticketPath) mounts['/ticket/'] = dirname(ticketPath);
const ticketUrl = ticketPath ? `/ticket/${ticketPath.split('/').pop()}` : null;
const { server, url } = await serve(mounts);
const browser = await launch();
try {
  const page = await browser.newPage();
  await page.goto(`${url}/bench/browser.html`);
  // Create the restorer and restore once, so that compilation and first-touch are not sampled.
  await page.evaluate(async ([size, ticket]) => {
    const { Restorer } = await import('/pkg/mirl.js');
    const image = new ImageData(size, size);
    for (let i = 0; i < image.data.length; i++) image.data[i] = (i * 7919) % 251;
    globalThis.bench = { restorer: await Restorer.create(ticket ? { backend: 'cpu', ticket } : { backend: 'cpu' }), image };
    await globalThis.bench.restorer.restore(image, { tasks: 'all' });
  }, [size, ticketUrl]);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  const ms = await page.evaluate(async (runs) => {
    const t = performance.now();
    for (let i = 0; i < runs; i++) await globalThis.bench.restorer.restore(globalThis.bench.image, { tasks: 'all' });
    return (performance.now() - t) / runs;
  }, runs);
  const { profile } = await cdp.send('Profiler.stop');
  // Self time per node: each sample is charged to the node it landed in.
  const self = new Map();
  const dt = profile.timeDeltas;
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (dt[i + 1] ?? 0)));
  // Rust's symbol hashes (::h0123…) dropped, so that a name reads the same across builds.
  const nameOf = (node) => (node.callFrame.functionName || `(${node.callFrame.url || 'anonymous'})`).replace(/::h[0-9a-f]{16}$/, '');
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node);
  const byName = new Map();
  const callers = new Map();
  let total = 0;
  for (const node of profile.nodes) {
    const t = self.get(node.id) ?? 0;
    const name = nameOf(node);
    byName.set(name, (byName.get(name) ?? 0) + t);
    const from = parent.has(node.id) ? nameOf(parent.get(node.id)) : '(root)';
    if (!callers.has(name)) callers.set(name, new Map());
    callers.get(name).set(from, (callers.get(name).get(from) ?? 0) + t);
    total += t;
  }
  const share = (t) => `${((100 * t) / total).toFixed(1)}%`;
  console.log(`CPU, ${size}x${size}, ${runs} warm restores, ${ms.toFixed(0)} ms each; self time by function (and its largest callers):`);
  for (const [name, t] of [...byName].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    const from = [...callers.get(name)].sort((a, b) => b[1] - a[1]).slice(0, 2);
    console.log(`${share(t).padStart(6)}  ${name}  <- ${from.map(([n, c]) => `${n} ${share(c)}`).join(', ')}`);
  }
} finally {
  await browser.close();
  server.close();
}
